"""What a project holds, read for people: the dashboard's numbers, the task table (the data
manager) and one task with its work."""
