"""Maintenance scripts, run by hand or by the Makefile; none is part of softmax_lib."""
