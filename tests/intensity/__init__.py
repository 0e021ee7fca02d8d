"""Tests of the live intensity providers against loopback servers."""
