"""The transfer engine: multi-part uploads and downloads, their scheduling and resumption."""
