"""What the platform calls its data and how the UI describes it: asset keys, partitions and
metadata, shared by assets, checks and sensors."""
