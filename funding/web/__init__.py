"""Project pages for residents: browse, back a project with money, hours or materials, embed a progress card."""
