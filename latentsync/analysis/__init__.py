"""What several packages measure in a video: scene cuts, face box tracks, the SyncNet lip-sync scorer and its MFCC."""
