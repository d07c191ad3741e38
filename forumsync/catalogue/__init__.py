"""The démarches catalogue: w.c.s. forms and workflows of every collectivity, in the forum.

sources/ (wcs_api, wcs_xml, directory, bundle) → model (Demarche, grouping) → render
(French first post) → sync (upsert by external_id and content hash). See docs/catalogue.md.
"""
