"""Where media lives: files on this machine (uploads, the server folder) with signed links to
them, and the S3 client that cloud storages use."""
