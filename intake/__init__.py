"""The intake: turns form submissions into proposed changes to the site's repository."""
