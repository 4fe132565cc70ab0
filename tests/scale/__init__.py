"""Call counts and paging at scale, in process."""
