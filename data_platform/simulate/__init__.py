"""A source-system simulator: TPC-H data landed as daily files, the way the sources deliver it."""
