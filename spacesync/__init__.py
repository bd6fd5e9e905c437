"""spacesync: fast, safe transfers between local disks and DigitalOcean Spaces or any S3 store."""

__version__ = "0.1.0"
