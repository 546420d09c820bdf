"""The kernel as data: the migration cores and the library callbacks (migrate_page), written
in the spec language and shipped as package data, so a kernel developer can read and edit them."""
