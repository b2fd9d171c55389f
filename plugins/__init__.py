"""The consultation's Pelican plugins: each offers a generator (what it adds to the shared context and the pages it describes) and the typed stage functions `generator.build` calls.

Importing Pelican makes every logger created afterwards one of Pelican's own
(`pelican.log.FatalLogger`, whose filter drops a message logged twice), the
root logger included. In a process that builds the site and also runs the
intake (`consult serve`, the tests), the intake's repeated warnings would
vanish, so this package imports Pelican first and puts the standard logger
classes back; Pelican's own loggers keep theirs.
"""

import logging

import pelican  # noqa: F401 - imported before any plugin module, for the reason above

logging.setLoggerClass(logging.Logger)
logging.getLogger().__class__ = logging.RootLogger
