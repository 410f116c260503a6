"""Label Studio's result JSON: its items, its regions of every shape, brush masks, and the
geometry of boxes and ellipses in percent and in pixels."""
