"""The download server and catalogue page for the published releases (`make serve`)."""
