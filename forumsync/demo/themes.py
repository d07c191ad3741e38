"""The demo's themes (the same as settings.example.py), used when the settings define none."""

THEMES = [
    {"slug": "sve", "name": "SVE",
     "description": "Saisine par voie électronique : démarches, accusés de réception, délais.",
     "lead": "Meyzieu", "lead_emails": ["animation-sve@meyzieu.fr"], "tags": ["SVE"],
     "keywords": ["SVE", "saisine", "accusé de réception"], "addresses": ["sve@listes.example.org"]},
    {"slug": "open-data", "name": "Open data",
     "description": "Publication de données ouvertes depuis Publik.",
     "lead": "Montpellier Méditerranée Métropole", "lead_emails": ["opendata@montpellier3m.fr"],
     "tags": ["OPENDATA", "OPEN DATA"],
     "keywords": ["open data", "opendata", "données ouvertes", "data.gouv"], "addresses": []},
    {"slug": "famille", "name": "Portail famille",
     "description": "Inscriptions scolaires, périscolaire, restauration.",
     "lead": "Métropole de Lyon", "lead_emails": ["famille@grandlyon.com"], "tags": ["FAMILLE"],
     "keywords": ["portail famille", "périscolaire", "cantine", "inscription scolaire"],
     "addresses": []},
    {"slug": "general", "name": "Discussions générales",
     "description": "Tout ce qui ne relève pas d'un thème.", "lead": "Entr'ouvert",
     "lead_emails": [], "tags": [], "keywords": [], "addresses": []},
]
DEFAULT_THEME = "general"
