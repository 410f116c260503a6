"""Task media read on the server without Streamlit: audio peaks, video frames, time series,
HTML made safe, and fetching what task data names from public addresses only."""
