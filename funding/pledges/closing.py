"""Closing a campaign: succeed (money becomes payable to the project) or fail (every paid pledge refunded)."""
