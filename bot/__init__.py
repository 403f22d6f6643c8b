"""Otklik: incidents from open sources, answered on time."""
