"""Generic English vocabulary of the offline engine. Nothing here names a table of any dataset.

Phrases are written in plain words and normalized once with :func:`.text.norm`, the same
function applied to questions and schema names, so ``categories`` and ``category`` match.
"""

from __future__ import annotations

from .text import norm

__all__ = [
    "GROUP_BREAKERS", "PREPOSITION_HINTS", "QUALIFIER_NOUNS", "RATIO_WORDS", "ADJECTIVES", "AGGREGATES", "BUCKETS", "CHANGE", "COMPARATORS", "DEFAULT_SUM_WORDS", "FILLERS",
    "FOLLOW_UP_ADD", "FOLLOW_UP_START", "GROUP_MARKERS", "LIST_WORDS", "MONTHS", "NEGATIONS",
    "ROW_WORDS", "SHARE", "SORT_MARKERS", "SUPERLATIVES", "SYNONYMS", "TOP_WORDS", "phrase",
]


def phrase(text: str) -> tuple[str, ...]:
    """Lower-case words of a lexicon phrase (matched against the question's lower-case words)."""
    return tuple(text.lower().split())


def _table(entries: dict[str, object]) -> dict[tuple[str, ...], object]:
    out: dict[tuple[str, ...], object] = {}
    for key, value in entries.items():
        for variant in key.split("|"):
            out[phrase(variant)] = value
    return out


AGGREGATES = _table({
    "how many|number of|count of|count|total number of|the number of|num of|count the|counts": "count",
    "how much|total|sum of|sum|overall|combined|in total|altogether": "sum",
    "average|avg|mean|average of|typical": "avg",
    "median": "median",
    "maximum|max|peak": "max",
    "minimum|min": "min",
    "distinct|unique|different": "distinct",
})

# superlatives: direction of ordering; alone and without a grouping they mean MAX / MIN
SUPERLATIVES = _table({
    "highest|largest|biggest|greatest|most|top|best|maximum|higher|larger|more|leading": "desc",
    "lowest|smallest|least|fewest|worst|bottom|minimum|lower|smaller|fewer": "asc",
})

# adjectives that name a quantity and a direction: (synonym words of the column, direction)
ADJECTIVES = _table({
    "most expensive|priciest|expensive|costliest|dearest": (("price", "cost"), "desc"),
    "cheapest|least expensive|cheap|inexpensive": (("price", "cost"), "asc"),
    "heaviest|heavy": (("weight", "mass"), "desc"),
    "lightest": (("weight", "mass"), "asc"),
    "newest|latest|most recent|recent|youngest": (("date", "time", "created", "year", "@date"), "desc"),
    "oldest|earliest|first": (("date", "time", "created", "year", "@date"), "asc"),
    "longest|long": (("length", "duration", "distance", "pages", "size", "runtime", "minutes"), "desc"),
    "shortest|short": (("length", "duration", "distance", "pages", "size", "runtime", "minutes"), "asc"),
    "tallest|tall": (("height",), "desc"),
    "fastest|quickest": (("speed", "acceleration"), "desc"),
    "slowest": (("speed", "acceleration"), "asc"),
    "hottest|warmest": (("temp", "temperature", "temp_max"), "desc"),
    "coldest|coolest": (("temp", "temperature", "temp_min"), "asc"),
    "windiest": (("wind",), "desc"),
    "wettest|rainiest": (("precipitation", "rain"), "desc"),
    "richest": (("income", "wealth", "salary"), "desc"),
    "busiest": (("traffic", "volume", "count"), "desc"),
    "popular|most popular": (("popularity", "rating", "quantity", "count"), "desc"),
    "best selling|top selling|bestselling|most sold|best sellers|best seller|bestsellers": (
        ("quantity", "units", "sales", "revenue", "amount"), "desc"),
    "worst selling|least sold|least popular": (("quantity", "units", "sales", "revenue", "amount"), "asc"),
})

GROUP_MARKERS = _table({
    "by|per|for each|for every|each|every|grouped by|group by|broken down by|breakdown by|split by|"
    "in each|across|by each|for all": "group",
})

BUCKETS = _table({
    "day|daily|date|per day|days|each day": "day",
    "week|weekly|weeks": "week",
    "month|monthly|months": "month",
    "quarter|quarterly|quarters": "quarter",
    "year|yearly|annual|annually|years": "year",
    "over time|trend|over the years|over the month|time series|timeline|evolution": "auto",
})
# bucket words that stand alone ("monthly revenue"); the others need a group marker
BUCKET_ADJECTIVES = {phrase(w) for w in ("daily", "weekly", "monthly", "quarterly", "yearly", "annual",
                                         "annually", "over time", "trend", "over the years", "time series",
                                         "timeline", "evolution")}

COMPARATORS = _table({
    "more than|greater than|higher than|larger than|bigger than|over|above|exceeding|exceeds|exceed|"
    "in excess of|>": ">",
    "at least|no less than|not less than|minimum of|>=|or more": ">=",
    "less than|fewer than|lower than|smaller than|under|below|<": "<",
    "at most|no more than|not more than|up to|maximum of|<=|or less|or fewer": "<=",
    "equal to|equals|exactly|=|equal": "=",
    "not equal to|other than|!=|<>": "!=",
})

TOP_WORDS = _table({"top": "desc", "bottom": "asc"})
SORT_MARKERS = _table({"sorted by|ordered by|ranked by|sort by|sorted on|ordered on": "sort"})
CHANGE = _table({
    "change|changed|growth|grow|grew|increase|increased|decrease|decreased|difference|compared to|"
    "compared with|compare|comparison|vs|versus|against|evolve|evolved|differ|delta|yoy|year over year": "change",
})
SHARE = _table({"share|percentage|percent|proportion|fraction|portion|breakdown of": "share"})
NEGATIONS = _table({"not|excluding|except|without|other than|apart from|exclude|besides|non|never|no|"
                    "not yet|have not|has not|were not|was not|haven't|hasn't|weren't|wasn't|isn't|aren't": "not"})
# a stored value after "from" / "to" belongs to a column with one of these words
PREPOSITION_HINTS = {
    "from": frozenset(("origin", "source", "from", "departure", "start", "sender", "src", "home", "orig")),
    "to": frozenset(("destination", "dest", "to", "arrival", "target", "recipient", "dst", "away", "end")),
    "into": frozenset(("destination", "dest", "to", "arrival", "target")),
}
# words that end a "by ..." grouping
GROUP_BREAKERS = frozenset(("for", "in", "with", "from", "to", "at", "on", "during", "where", "that", "who",
                            "which", "whose", "when", "having", "since", "before", "after", "between"))
# words of a column name that make it a ratio or level (averaged, never summed)
RATIO_WORDS = frozenset(("per", "rate", "ratio", "pct", "percent", "percentage", "avg", "average", "mean",
                         "share", "index", "score", "rating", "temp", "temperature", "price", "age"))
# nouns that only qualify the column before them ("membership type", "price level")
QUALIFIER_NOUNS = frozenset(("type", "kind", "category", "class", "group", "level", "tier", "bucket", "band",
                             "value", "values", "field", "attribute", "label", "code", "flag"))
LIST_WORDS = _table({
    "list|show|display|give|get|find|which|what|who|where|tell|return|see|view|fetch|identify|"
    "what are|what were|what is|what was|show me|give me|list all|all|how": "list",
})
ROW_WORDS = frozenset(norm(w) for w in ("row", "record", "entry", "observation", "line", "time", "case",
                                        "event", "occurrence", "day", "hour", "reading", "measurement"))

MONTHS = {norm(name): i for i, names in enumerate((
    "january jan", "february feb", "march mar", "april apr", "may", "june jun", "july jul",
    "august aug", "september sep sept", "october oct", "november nov", "december dec"), start=1)
    for name in names.split()}

# question word -> schema words it may stand for (generic business and data vocabulary)
SYNONYMS: dict[str, tuple[str, ...]] = {norm(k): tuple(norm(w) for w in v.split()) for k, v in {
    "revenue": "revenue sales amount total turnover value income price*quantity",
    "turnover": "revenue sales amount total",
    "income": "income revenue amount",
    "spend": "amount total spend cost",
    "spending": "amount total spend cost",
    "spent": "amount total spend cost",
    "earnings": "earnings revenue income amount",
    "value": "value amount total price",
    "size": "size amount total value quantity",
    "amount": "amount total value",
    "money": "amount revenue total",
    "cost": "cost price expense",
    "price": "price cost",
    "fee": "fee price cost",
    "quantity": "quantity qty units count",
    "unit": "quantity units qty",
    "volume": "volume quantity",
    "customer": "customer client buyer user account",
    "client": "client customer",
    "buyer": "buyer customer",
    "user": "user customer member account",
    "member": "member user customer",
    "product": "product item article sku",
    "item": "item product article",
    "article": "article item product",
    "order": "order purchase transaction sale",
    "purchase": "purchase order transaction",
    "transaction": "transaction order purchase payment",
    "sale": "revenue sales amount total value price*quantity order transaction purchase",
    "employee": "employee staff worker",
    "staff": "staff employee",
    "worker": "worker employee",
    "category": "category type kind class group genre",
    "type": "type kind category class",
    "kind": "kind type category",
    "genre": "genre category",
    "country": "country nation",
    "nation": "nation country",
    "city": "city town",
    "town": "town city",
    "state": "state province",
    "temperature": "temperature temp",
    "temp": "temp temperature",
    "mpg": "miles_per_gallon mpg",
    "date": "date day time",
    "when": "date time",
    "age": "age",
    "weight": "weight mass",
    "name": "name title label",
    "title": "title name",
    "rain": "rain precipitation",
    "rainfall": "precipitation rain",
    "signup": "signup registration join created",
    "registered": "signup registration registered created",
    "joined": "signup join joined created",
    "launched": "launched launch release",
    "released": "release released launched",
    "born": "birth born",
    "manager": "manager owner",
    "salary": "salary pay wage income",
    "wage": "wage salary pay",
    "sold": "quantity sales",
    "discount": "discount",
    "profit": "profit margin",
    "margin": "margin profit",
    "duration": "duration length time",
    "distance": "distance length miles",
    "score": "score rating points",
    "rating": "rating score",
    "population": "population",
    "stock": "stock inventory",
    "delay": "delay",
    "loan": "loan borrowing",
    "borrowing": "loan borrowing",
    "book": "book title",
    "author": "author writer",
    "writer": "writer author",
}.items()}

# words whose columns add up (SUM by default); other numeric columns are averaged
DEFAULT_SUM_WORDS = frozenset(norm(w) for w in (
    "revenue sales amount total turnover income spend cost quantity qty units count volume "
    "number miles distance precipitation generation wounds disease deaths cases profit margin "
    "earnings fee value population points goals minutes hours duration budget target yield production "
    "output passengers visitors people person seats tickets units items pieces votes downloads views "
    "clicks sessions students guests attendees calls messages deaths casualties injuries births "
    "wounds disease sold loans bookings trips rides"
).split())

FOLLOW_UP_START = {phrase(w) for w in (
    "now", "and", "what about", "how about", "only", "just", "instead", "same", "also", "but", "then",
    "same for", "same but", "and what about", "what if", "and for", "and in", "now only", "now for",
    "break it down", "split it", "show it", "make it", "and by", "now by", "only for", "just for",
    "for", "in", "by", "without", "excluding", "except",
)}
FOLLOW_UP_ADD = {phrase(w) for w in ("also", "too", "as well", "additionally", "and also")}

# words that carry no meaning for the query (articles, auxiliaries, pronouns, politeness,
# generic verbs); anything not here and not mapped is reported as not understood
FILLERS = frozenset(norm(w) for w in (
    "a an the of for in on at to from with and or is are was were be been being do does did done "
    "have has had having there their them they it its this that these those me my we our us you "
    "your i please can could would will shall should may might must what which who whom whose how "
    "where when why all any some so as than then also just only much many give show list tell get "
    "find display return let see know want need like about into up out data information info "
    "detail details overall together currently ever recorded placed made make happen happened "
    "occur occurred exist existing available got sold bought purchased ordered spent generated "
    "earned came come comes go went take took taken per each every respectively versus via "
    "within across during since before after until till through between among value values "
    "record records row rows entry entries result results number numbers figure figures "
    "statistic statistics stats breakdown summary summarize summarise report metric metrics "
    "kpi kpis dataset database table tables column columns field fields across along "
    "please kindly thanks thank hi hello hey ok okay now again still yet ago year's "
    "one ones thing things stuff something anything everything someone anyone everyone "
    "here whose sort order ordered sorted rank ranked ranking group grouped split broken down "
    "versus compared compare comparison how's what's whats wat there're theres whats "
    "registered signed up sign joined launched created started opened placed recorded "
    "including include includes included both either neither other another such "
    "own having having, via out over under above below be being become became "
    "look looking looked show showing shown see seeing seen chart plot graph visualize "
    "plotted visualise table breakdown split new too instead rather either well also again anyway "
    # generic verbs linking a subject to what it did (wrote books, carried passengers)
    "wrote written write writes carried carry carries operated operate operates flew flown fly flies "
    "borrowed borrow lent lend rented rent issued issue served serve handled handle received receive "
    "sent send paid pay won win played play visited visit attended attend employed employ hired hire "
    "managed manage owned own contain contains contained belong belongs belonged produced produce "
    "generate generates checked check reported involved involve registered enrolled enroll booked book "
    "delivered deliver transported transport recorded record logged log brings bring brought earns earn "
    "makes gets live lives living located based reside resides residing stay stays come place"
).split())
