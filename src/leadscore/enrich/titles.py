"""Job title → seniority and function.

A title is first put in matching form: accents removed, lower case, every
character that is not a letter or digit turned into a space ("Directeur
Général (DG)" → "directeur general dg"). Then the rules below are tried **in
order**, the first match wins; each pattern is a regular expression searched in
that form, with word boundaries. The rules cover English, French, German and
Spanish titles; ``docs/enrichment.md`` shows them as tables and
``tests/enrich/test_titles.py`` checks them on real-world titles.

Seniority (a title that matches no rule is ``individual``):

1. ``individual`` — assistants, interns, apprentices, students (so "Assistant
   to the CEO" is not c-level);
2. ``vp`` — vice presidents (before c-level, since "vice president" contains
   "president");
3. ``c_level`` — chief … officers and their acronyms, presidents, founders,
   owners, managing directors, and the French DSI / DAF (the CIO / CFO of a
   French company);
4. ``manager`` (team level) — team / group / project leads, "chef de projet";
5. ``director`` — director, directeur, Direktor, head of, Leiter, DRH;
6. ``manager`` — manager, responsable, Gerente, jefe, supervisor, lead.

Function: the first of the rules in :data:`FUNCTION_RULES` that matches;
otherwise ``executive`` for c-level titles and ``other`` for the rest.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

_NON_WORD = re.compile(r"[^0-9a-z]+")

# fmt: off
SENIORITY_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("individual", (
        r"assistant", r"assistante", r"asistente", r"assistent", r"assistentin",
        r"intern", r"internship", r"stagiaire", r"alternant", r"alternante", r"apprenti",
        r"apprentice", r"praktikant", r"praktikantin", r"werkstudent\w*", r"becario",
        r"becaria", r"student", r"etudiant", r"etudiante", r"estudiante", r"trainee",
        r"product owner",
    )),
    ("vp", (
        r"vp", r"svp", r"evp", r"avp", r"vice president", r"vice presidente",
        r"vicepresidente", r"vize ?prasident\w*", r"vice president\w*",
    )),
    ("c_level", (
        r"ceo", r"cto", r"cfo", r"coo", r"cmo", r"cio", r"ciso", r"cdo", r"cro", r"cpo",
        r"chro", r"cco", r"cso", r"cxo", r"chief \w+(?: \w+)? officer", r"chief executive",
        r"president", r"presidente", r"prasident\w*", r"pdg", r"dg", r"directeur general",
        r"directrice generale",
        r"director general", r"directora general", r"gerente general", r"general manager",
        r"managing director", r"geschaftsfuhrer\w*", r"geschaeftsfuehrer\w*", r"vorstand\w*",
        r"co ?founder", r"founder", r"co ?fondat\w*", r"fondat\w*", r"mitgrunder\w*",
        r"grunder\w*", r"co ?fundador\w*", r"fundador\w*", r"owner", r"proprietaire",
        r"inhaber\w*", r"gerant", r"gerante", r"dsi", r"daf", r"consejero delegado",
        r"directeur des systemes d information", r"directeur administratif et financier",
    )),
    ("manager", (
        r"team ?lead\w*", r"team ?leiter\w*", r"teamleiter\w*", r"gruppenleiter\w*",
        r"projektleiter\w*", r"chef de projets?", r"project lead",
    )),
    ("director", (
        r"director", r"directora", r"directeur", r"directrice", r"direktor\w*", r"head",
        r"\w*leiter\w*", r"\w*leitung", r"drh", r"dir",
    )),
    ("manager", (
        r"\w*manager\w*", r"mgr", r"responsable", r"gerente", r"jefe", r"jefa",
        r"supervisor", r"superviseur", r"superviseuse", r"lead", r"chef", r"cheffe",
        r"encargado", r"encargada", r"coordinat\w*", r"coordinador\w*",
    )),
)

FUNCTION_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # C-level acronyms first: they name the function outright.
    ("engineering", (r"cto", r"chief technology officer", r"chief technical officer")),
    ("it", (r"cio", r"ciso", r"dsi", r"chief information \w*\s?officer")),
    ("finance", (r"cfo", r"daf", r"chief financial officer")),
    ("marketing", (r"cmo", r"chief marketing officer")),
    ("operations", (r"coo", r"chief operating officer")),
    ("product", (r"cpo", r"chief product officer")),
    ("sales", (r"cro", r"chief revenue officer", r"chief sales officer")),
    ("hr", (r"chro", r"drh", r"chief people officer", r"chief human resources officer")),
    ("sales", (
        r"sales", r"vente", r"ventes", r"commercial", r"commerciale", r"comercial",
        r"vertrieb\w*", r"verkauf\w*", r"ventas", r"business development", r"bizdev",
        r"account executive", r"account manager", r"key account\w*", r"sdr", r"bdr",
        r"charge d affaires", r"chargee d affaires", r"ingenieur d affaires", r"revenue",
        r"aussendienst\w*", r"kundenberater\w*", r"desarrollo de negocio\w*", r"pre ?sales",
    )),
    ("marketing", (
        r"marketing\w*", r"growth", r"demand gen\w*", r"brand", r"communication", r"communications",
        r"kommunikation", r"comunicacion", r"seo", r"content", r"relations presse",
        r"public relations", r"pr", r"evenementiel", r"mercadotecnia", r"mercadeo",
    )),
    ("hr", (
        r"hr", r"human resources", r"ressources humaines", r"rh", r"personalleiter\w*",
        r"personalreferent\w*", r"personalabteilung", r"personalwesen", r"personalchef\w*",
        r"recruit\w*", r"recruteur", r"recruteuse", r"recrutement", r"talent", r"people",
        r"recursos humanos", r"rrhh", r"reclutamiento", r"reclutador\w*", r"payroll", r"paie",
    )),
    ("finance", (
        r"finance", r"finances", r"financial", r"financier", r"financiere", r"finanz\w*",
        r"finanzas", r"financiero", r"financiera", r"accounting", r"accountant", r"comptable",
        r"comptabilite", r"controller", r"controleur de gestion", r"controlling",
        r"buchhalt\w*", r"contable", r"contabilidad", r"tresorier", r"treasurer",
        r"tesorero", r"audit\w*",
    )),
    ("legal", (
        r"legal", r"juridique", r"juriste", r"counsel", r"lawyer", r"attorney", r"avocat",
        r"avocate", r"rechtsanwalt\w*", r"rechtsabteilung", r"syndikus\w*", r"jurist\w*",
        r"juridico", r"abogado", r"abogada", r"compliance", r"conformite",
    )),
    ("it", (
        r"it", r"informatique", r"informaticien\w*", r"systemes d information",
        r"information systems", r"information technology", r"sysadmin",
        r"system administrator", r"systems administrator", r"administrateur systemes?",
        r"network", r"reseaux?", r"infrastructure", r"helpdesk", r"cyber\w*", r"edv",
        r"sistemas", r"informatica", r"systemadministrator\w*",
    )),
    ("engineering", (
        r"engineer", r"engineering", r"\w*ingenieur\w*", r"ingeniero", r"ingeniera", r"developer",
        r"developpeur", r"developpeuse", r"\w*entwickl\w*", r"desarrollador\w*", r"software",
        r"r d", r"recherche et developpement", r"programmer", r"programmeur", r"devops",
        r"architect", r"architecte", r"data scientist", r"data engineer", r"technical",
        r"technique", r"technisch\w*", r"tecnico", r"tecnica", r"programador\w*",
    )),
    ("product", (
        r"product", r"products", r"produit", r"produits", r"produkt\w*", r"producto",
        r"product owner", r"ux", r"ui", r"design", r"designer",
    )),
    ("customer_service", (
        r"customer success", r"customer service", r"customer support", r"support",
        r"service client", r"relation client", r"kundenservice", r"kundendienst",
        r"atencion al cliente", r"soporte",
    )),
    ("operations", (
        r"operations", r"operation", r"operationnel\w*", r"logistics", r"logistique",
        r"logistik\w*", r"supply chain", r"purchasing", r"procurement", r"achats?",
        r"acheteur", r"acheteuse", r"einkauf\w*", r"compras", r"production", r"produktion",
        r"produccion", r"operaciones", r"facility", r"office manager",
    )),
    ("executive", (
        r"ceo", r"chief executive", r"pdg", r"dg", r"president", r"presidente",
        r"prasident\w*", r"founder", r"co ?founder", r"fondat\w*", r"grunder\w*",
        r"fundador\w*", r"owner", r"general manager", r"managing director",
        r"geschaftsfuhrer\w*", r"gerant", r"gerante", r"directeur general",
        r"directrice generale", r"director general", r"gerente general",
        r"consejero delegado", r"vorstand\w*", r"inhaber\w*", r"proprietaire",
    )),
)
# fmt: on


def title_key(title: str) -> str:
    """The matching form of a title: no accents, lower case, words separated by spaces."""
    folded = unicodedata.normalize("NFKD", title)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).casefold()
    return _NON_WORD.sub(" ", folded).strip()


def _compile(rules):
    return tuple(
        (label, re.compile(r"\b(?:" + "|".join(patterns) + r")\b")) for label, patterns in rules
    )


_SENIORITY = _compile(SENIORITY_RULES)
_FUNCTION = _compile(FUNCTION_RULES)


@lru_cache(maxsize=65536)
def classify_title(title: str) -> tuple[str, str] | None:
    """(seniority, function) for a job title, or None when it has no letters."""
    key = title_key(title)
    if not any(ch.isalpha() for ch in key):
        return None
    seniority = next((lab for lab, rx in _SENIORITY if rx.search(key)), "individual")
    function = next((lab for lab, rx in _FUNCTION if rx.search(key)), None)
    if function is None:
        function = "executive" if seniority == "c_level" else "other"
    return seniority, function


def title_facts(value: Any) -> dict[str, Any]:
    """``seniority`` and ``function`` for a job title (empty when missing or unreadable)."""
    if value is None:
        return {}
    text = str(value).strip()
    if not text:
        return {}
    found = classify_title(text)
    if found is None:
        return {}
    return {"seniority": found[0], "function": found[1]}
