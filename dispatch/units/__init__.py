"""Units: the ambulances, patrol cars and fire engines of the agencies, their status and
position, which to send, and sending them."""
