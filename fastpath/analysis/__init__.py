"""What comes out: load reports, scaling studies, plots."""
