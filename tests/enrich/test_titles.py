"""Job titles → seniority and function, on real-world titles in four languages."""

import pytest

from leadscore.enrich.titles import classify_title, title_facts

TITLES = [
    # French
    ("Directeur commercial", "director", "sales"),
    ("Directrice commerciale France", "director", "sales"),
    ("Responsable marketing", "manager", "marketing"),
    ("PDG", "c_level", "executive"),
    ("Président Directeur Général", "c_level", "executive"),
    ("Directeur Général Délégué", "c_level", "executive"),
    ("DSI", "c_level", "it"),
    ("Directeur des Systèmes d'Information", "c_level", "it"),
    ("DAF", "c_level", "finance"),
    ("DRH", "director", "hr"),
    ("Directrice des Ressources Humaines", "director", "hr"),
    ("Chef de projet informatique", "manager", "it"),
    ("Ingénieur commercial", "individual", "sales"),
    ("Chargée d'affaires", "individual", "sales"),
    ("Développeur Full Stack", "individual", "engineering"),
    ("Contrôleur de gestion", "individual", "finance"),
    ("Responsable des achats", "manager", "operations"),
    ("Juriste", "individual", "legal"),
    ("Chef de produit", "manager", "product"),
    ("Stagiaire marketing", "individual", "marketing"),
    ("Assistante de direction", "individual", "other"),
    ("Gérant", "c_level", "executive"),
    ("Fondateur", "c_level", "executive"),
    # English
    ("CEO", "c_level", "executive"),
    ("Chief Executive Officer", "c_level", "executive"),
    ("Co-Founder & CTO", "c_level", "engineering"),
    ("CFO", "c_level", "finance"),
    ("Chief Marketing Officer", "c_level", "marketing"),
    ("Chief Information Security Officer", "c_level", "it"),
    ("VP Sales", "vp", "sales"),
    ("Vice President, Marketing", "vp", "marketing"),
    ("SVP Engineering", "vp", "engineering"),
    ("Head of Growth", "director", "marketing"),
    ("Director of Human Resources", "director", "hr"),
    ("Senior Software Engineer", "individual", "engineering"),
    ("IT Manager", "manager", "it"),
    ("Account Executive", "individual", "sales"),
    ("Sales Development Representative", "individual", "sales"),
    ("Key Account Manager", "manager", "sales"),
    ("Customer Success Manager", "manager", "customer_service"),
    ("Product Owner", "individual", "product"),
    ("Product Manager", "manager", "product"),
    ("Office Manager", "manager", "operations"),
    ("Supply Chain Analyst", "individual", "operations"),
    ("General Counsel", "individual", "legal"),
    ("Data Scientist", "individual", "engineering"),
    ("Managing Director", "c_level", "executive"),
    ("Executive Assistant to the CEO", "individual", "executive"),
    ("Marketing Intern", "individual", "marketing"),
    ("Teacher", "individual", "other"),
    # German
    ("Geschäftsführer", "c_level", "executive"),
    ("Geschäftsführerin", "c_level", "executive"),
    ("Leiter Vertrieb", "director", "sales"),
    ("Vertriebsleiter", "director", "sales"),
    ("Marketingleiterin", "director", "marketing"),
    ("IT-Leiter", "director", "it"),
    ("Teamleiter Buchhaltung", "manager", "finance"),
    ("Personalreferentin", "individual", "hr"),
    ("Softwareentwickler", "individual", "engineering"),
    ("Produktmanager", "manager", "product"),
    ("Einkaufsleiter", "director", "operations"),
    ("Werkstudent Marketing", "individual", "marketing"),
    ("Vorstandsvorsitzender", "c_level", "executive"),
    # Spanish
    ("Director de Marketing", "director", "marketing"),
    ("Directora Comercial", "director", "sales"),
    ("Jefe de Ventas", "manager", "sales"),
    ("Consejero Delegado", "c_level", "executive"),
    ("Gerente General", "c_level", "executive"),
    ("Gerente de Recursos Humanos", "manager", "hr"),
    ("Ingeniero de Software", "individual", "engineering"),
    ("Director Financiero", "director", "finance"),
    ("Vicepresidente de Ventas", "vp", "sales"),
    ("Desarrollador Backend", "individual", "engineering"),
    ("Abogada", "individual", "legal"),
]


@pytest.mark.parametrize(("title", "seniority", "function"), TITLES)
def test_real_world_titles(title, seniority, function):
    assert classify_title(title) == (seniority, function)


def test_case_accents_and_punctuation_do_not_matter():
    assert classify_title("directeur COMMERCIAL") == classify_title("Directeur Commercial")
    assert classify_title("Geschaftsfuhrer") == ("c_level", "executive")
    assert classify_title("  V.P. - Sales ") is not None


@pytest.mark.parametrize("value", ["", "   ", "---", "12345", None, "???"])
def test_titles_without_words_add_nothing(value):
    assert title_facts(value) == {}


def test_vice_president_is_not_c_level():
    # "vice president" contains "president": the vp rule comes first
    assert classify_title("Vice-Président Ventes")[0] == "vp"
