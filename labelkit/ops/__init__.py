"""Running a portal: backups, and the demo data of a first look."""
