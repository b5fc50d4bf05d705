"""The edge gateway: this package run at a county or city hospital (``telemed edge``) with
its own small database, beside the hospital's scanners. It takes slide files from a watched
folder, registers each with the hub at once, answers the hub's tile requests from its own
copy over a connection it keeps open to the hub, and uploads the files in idle hours."""
