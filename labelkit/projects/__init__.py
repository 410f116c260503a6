"""Projects and what lives beside their tasks: members, the trash, comments, the Inbox's
notifications and a task's history."""
