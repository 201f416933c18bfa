"""Statistics for issue 13: intervals, bootstrap, paired comparison, training-loop logs.

Pure numpy and Python; scipy is used only by the tests.
"""
