"""The rules: the incident, its workflow, working time, presets, deadline plans, reminders and who is told —
plain Python, no aiogram, no SQL, no I/O (STYLE.md «The house»)."""
