"""A synthetic online shop split over two databases, for federation and ``%%ask`` demos.

``shop_crm`` (SQLite) holds who the customers are: ``regions`` and ``customers``.
``shop_sales`` (DuckDB) holds what they bought: ``products``, ``orders`` and
``order_items``. ``orders.customer_id`` refers to ``shop_crm.customers.id`` across the
two databases, so questions about revenue per region need a federated join.

The data covers 2022-01-01 .. 2025-06-30 with yearly growth, a Q4 peak (Black Friday,
Christmas), weekend and category seasonality, and regions that grow at different rates
(Asia Pacific and the Middle East catch up, Europe and Latin America dip in 2024). Every
random draw comes from one ``numpy.random.Generator`` seeded by the caller, so one seed
always gives the same rows. Money is computed in integer cents, so ``orders.amount`` is
exactly ``round(sum(quantity * unit_price * (1 - discount)), 2)`` over the order's items.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

START, END = pd.Timestamp("2022-01-01"), pd.Timestamp("2025-06-30")
SIGNUP_START, SIGNUP_END = pd.Timestamp("2021-01-01"), pd.Timestamp("2025-06-15")
N_CUSTOMERS, N_ORDERS = 800, 6000
SEGMENTS = ("Consumer", "Small Business", "Enterprise")
STATUSES = ("completed", "shipped", "cancelled", "returned")
CHANNELS = ("web", "mobile", "store")

# name, manager, customer share, signup growth per year, order weight per year 2022..2025
REGIONS = (
    ("North America", "Dana Whitfield", 0.27, 0.15, (1.00, 1.08, 1.15, 1.20)),
    ("Europe", "Lukas Brenner", 0.27, 0.05, (1.00, 1.02, 0.90, 0.95)),
    ("Asia Pacific", "Mei Tanaka", 0.20, 0.55, (0.80, 1.00, 1.35, 1.55)),
    ("Latin America", "Rafael Costa", 0.11, 0.20, (1.00, 1.15, 0.80, 0.90)),
    ("Middle East", "Layla Haddad", 0.08, 0.45, (0.70, 0.85, 1.20, 1.30)),
    ("Africa", "Thabo Nkosi", 0.07, 0.35, (0.60, 0.70, 0.90, 1.00)),
)
PLACES = {
    "North America": {"United States": "New York,Chicago,Austin,Seattle,Denver,Atlanta,Boston,San Diego",
                      "Canada": "Toronto,Vancouver,Montreal"},
    "Europe": {"Germany": "Berlin,Munich,Hamburg", "France": "Paris,Lyon",
               "United Kingdom": "London,Manchester", "Spain": "Madrid,Barcelona",
               "Italy": "Milan,Rome", "Netherlands": "Amsterdam,Rotterdam", "Sweden": "Stockholm"},
    "Asia Pacific": {"Japan": "Tokyo,Osaka", "Australia": "Sydney,Melbourne", "Singapore": "Singapore",
                     "India": "Mumbai,Bangalore,Delhi", "South Korea": "Seoul", "China": "Shanghai,Shenzhen"},
    "Latin America": {"Brazil": "São Paulo,Rio de Janeiro", "Mexico": "Mexico City,Guadalajara,Monterrey",
                      "Argentina": "Buenos Aires,Córdoba", "Chile": "Santiago", "Colombia": "Bogotá,Medellín"},
    "Middle East": {"United Arab Emirates": "Dubai,Abu Dhabi", "Saudi Arabia": "Riyadh,Jeddah",
                    "Israel": "Tel Aviv", "Turkey": "Istanbul,Ankara", "Qatar": "Doha"},
    "Africa": {"South Africa": "Johannesburg,Cape Town", "Nigeria": "Lagos,Abuja", "Kenya": "Nairobi",
               "Egypt": "Cairo", "Morocco": "Casablanca", "Ghana": "Accra"},
}
NAMES = {  # first names | last names, ASCII so e-mail addresses stay plain
    "North America": "James Emily Michael Sarah David Jessica Daniel Ashley Ryan Megan"
                     "|Smith Johnson Brown Miller Davis Wilson Anderson Taylor Thomas Moore Clark",
    "Europe": "Lukas Sophie Jan Emma Luca Chiara Pierre Camille Oliver Elena"
              "|Muller Schmidt Dubois Rossi Garcia Jansen Andersson Fischer Bernard Romano Evans",
    "Asia Pacific": "Haruto Yui Wei Mei Arjun Priya Minjun Jiwoo Liam Chloe"
                    "|Sato Tanaka Wang Li Chen Sharma Patel Kim Park Nguyen Wong",
    "Latin America": "Mateo Valentina Santiago Camila Diego Lucia Gabriel Isabela Joao Mariana"
                     "|Silva Santos Gonzalez Rodriguez Hernandez Lopez Martinez Pereira Fernandez Ramirez",
    "Middle East": "Omar Layla Ahmed Fatima Yusuf Noor Eitan Maya Emre Zeynep"
                   "|Haddad Khalil Nasser Mansour Cohen Levi Yilmaz Demir Saleh Farsi",
    "Africa": "Thabo Amara Chinedu Ngozi Kwame Ama Wanjiru Juma Youssef Salma"
              "|Nkosi Okafor Adeyemi Mensah Mwangi Otieno Naidoo Botha Amrani Hassan",
}
COMPANY_SUFFIXES = {
    "Small Business": ("Trading", "Consulting", "Studio", "Retail", "Partners", "& Co"),
    "Enterprise": ("Group", "Holdings", "Industries", "Corporation", "International", "Systems"),
}
# category: (price range in USD, month -> demand factor, product names)
CATALOG = {
    "Electronics": ((25, 450), {11: 1.5, 12: 1.6},
                    "Aurora Wireless Earbuds|Nimbus Bluetooth Speaker|Pulse Smartwatch|Vertex 27in 4K Monitor|"
                    "Orbit USB-C Hub|Lumen Mechanical Keyboard|Glide Wireless Mouse|Nova ANC Headphones|"
                    "Volt Power Bank 20000mAh|Pixel Pro Webcam"),
    "Home": ((15, 350), {1: 1.2, 12: 1.2},
             "Oak Cutting Board|Ceramic Pour-Over Set|Linen Duvet Cover|Cast Iron Skillet|Aroma Diffuser|"
             "Bamboo Storage Baskets|Stainless Cookware Set|Smart LED Bulb 4-Pack|Memory Foam Pillow|"
             "Robot Vacuum Cleaner"),
    "Sports": ((12, 250), {5: 1.3, 6: 1.4, 7: 1.4, 8: 1.2},
               "Trail Running Shoes|Yoga Mat Pro|Adjustable Dumbbells|Insulated Water Bottle|Cycling Helmet|"
               "Resistance Bands Set|Camping Tent 2P|Tennis Racket|Fitness Tracker Band|Hiking Backpack 40L"),
    "Books": ((9, 45), {9: 1.2, 12: 1.3},
              "The Data Detective|Modern SQL in Practice|Cooking for Two|The Long Voyage|"
              "Atlas of Small Places|Mindful Mornings|Python for Analysts|The Quiet Garden|"
              "History of the Silk Road|Stars and Stories"),
    "Toys": ((10, 180), {11: 1.8, 12: 2.4},
             "Building Blocks 500pc|Remote Control Car|Plush Bear|Wooden Train Set|World Map Puzzle 1000pc|"
             "Science Kit Junior|Harbor Trade Board Game|Art Supplies Box|Dollhouse Deluxe|Mini Drone"),
    "Beauty": ((8, 90), {2: 1.3, 5: 1.2, 12: 1.3},
               "Hydrating Face Serum|Vitamin C Cream|Argan Hair Oil|Matte Lipstick Set|Gentle Cleanser|"
               "SPF 50 Sunscreen|Eau de Parfum 50ml|Bamboo Hair Brush|Clay Face Mask|Electric Toothbrush"),
}
MONTH_SEASON = np.array([0.85, 0.8, 0.9, 0.9, 0.95, 0.95, 0.9, 0.95, 1.0, 1.05, 1.35, 1.6])
WEEKDAY = np.array([1.0, 0.95, 1.0, 1.05, 1.1, 1.3, 1.2])  # Monday .. Sunday
PRICE_LEVEL = {2022: 0.90, 2023: 0.94, 2024: 0.97, 2025: 1.00}  # list price drift


@dataclass(frozen=True)
class ShopData:
    """The five shop tables as data frames, in the column order of the DDL."""

    regions: pd.DataFrame
    customers: pd.DataFrame
    products: pd.DataFrame
    orders: pd.DataFrame
    order_items: pd.DataFrame


def generate_shop(seed: int = 7) -> ShopData:
    """Generate the shop tables deterministically.

    Parameters
    ----------
    seed : int
        Seed of the random generator; the same seed always gives identical rows.

    Returns
    -------
    ShopData
        ``regions`` and ``customers`` (for ``shop_crm``), ``products``, ``orders`` and
        ``order_items`` (for ``shop_sales``). Money columns are integer cents
        (``*_cents``) and discounts integer percent, converted exactly on write.
    """
    rng = np.random.default_rng(seed)
    customers = _customers(rng)
    products = _products(rng)
    orders, items = _orders(rng, customers, products)
    regions = _regions(rng, customers, orders)
    return ShopData(regions, customers, products, orders, items)


def _customers(rng: np.random.Generator) -> pd.DataFrame:
    region = rng.choice(len(REGIONS), size=N_CUSTOMERS, p=[r[2] for r in REGIONS])
    days = pd.date_range(SIGNUP_START, SIGNUP_END, freq="D")
    years = np.arange(len(days)) / 365.25
    signup = np.empty(N_CUSTOMERS, dtype="datetime64[ns]")
    for r, (_, _, _, growth, _) in enumerate(REGIONS):
        rows = np.flatnonzero(region == r)
        weights = np.exp(growth * years)
        signup[rows] = days.values[rng.choice(len(days), size=len(rows), p=weights / weights.sum())]
    order = np.lexsort((np.arange(N_CUSTOMERS), signup))  # ids follow signup order
    region, signup = region[order], signup[order]
    segment = rng.choice(3, size=N_CUSTOMERS, p=[0.62, 0.27, 0.11])
    age = (SIGNUP_END - pd.DatetimeIndex(signup)).days.to_numpy() / 365.25
    active = (rng.random(N_CUSTOMERS) >= 0.04 + 0.05 * age).astype(int)
    rows, seen = [], set()
    for i in range(N_CUSTOMERS):
        rname = REGIONS[region[i]][0]
        first_names, last_names = (part.split() for part in NAMES[rname].split("|"))
        first = first_names[rng.integers(len(first_names))]
        last = last_names[rng.integers(len(last_names))]
        places = [(c, city) for c, cities in PLACES[rname].items() for city in cities.split(",")]
        country, city = places[rng.integers(len(places))]
        seg = SEGMENTS[segment[i]]
        if seg == "Consumer":
            name, local, domain = f"{first} {last}", f"{first}.{last}".lower(), "example.com"
        else:
            suffixes = COMPANY_SUFFIXES[seg]
            name = f"{last} {suffixes[rng.integers(len(suffixes))]}"
            local = ("purchasing", "orders", first.lower())[rng.integers(3)]
            domain = name.lower().replace(" & ", "-and-").replace(" ", "-") + ".example"
        email, n = f"{local}@{domain}", 1
        while email in seen:
            n += 1
            email = f"{local}{n}@{domain}"
        seen.add(email)
        rows.append((i + 1, name, email, seg, country, city, rname))
    frame = pd.DataFrame(rows, columns=["id", "name", "email", "segment", "country", "city", "region"])
    frame["signup_date"] = pd.DatetimeIndex(signup).strftime("%Y-%m-%d")
    frame["is_active"] = active
    return frame


def _products(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for category, ((low, high), _, names) in CATALOG.items():
        for name in names.split("|"):
            price = int(np.exp(rng.uniform(np.log(low), np.log(high)))) * 100 + 99
            cost = int(round(price * rng.uniform(0.45, 0.7)))
            rows.append((len(rows) + 1, name, category, price, cost))
    frame = pd.DataFrame(rows, columns=["id", "name", "category", "unit_price_cents", "unit_cost_cents"])
    early = rng.random(len(frame)) < 0.68  # most of the range predates the data; some launch later
    lo = np.where(early, pd.Timestamp("2019-01-01").value, pd.Timestamp("2022-01-01").value)
    hi = np.where(early, pd.Timestamp("2021-12-31").value, pd.Timestamp("2024-12-31").value)
    launched = pd.to_datetime(lo + (rng.random(len(frame)) * (hi - lo)).astype("int64"))
    frame["launched_on"] = launched.normalize()
    return frame


def _orders(rng: np.random.Generator, customers: pd.DataFrame, products: pd.DataFrame):
    months = pd.date_range(START, END, freq="MS")
    t = np.arange(len(months)) / 12
    lam = 1.25**t * MONTH_SEASON[months.month - 1]
    counts = rng.poisson(lam * N_ORDERS / lam.sum())
    signup = pd.to_datetime(customers["signup_date"]).to_numpy()
    region = customers["region"].map({r[0]: i for i, r in enumerate(REGIONS)}).to_numpy()
    segment = customers["segment"].map({s: i for i, s in enumerate(SEGMENTS)}).to_numpy()
    base = rng.lognormal(0.0, 0.7, len(customers)) * np.array([1.0, 1.4, 1.8])[segment]
    base *= np.where(customers["is_active"].to_numpy() == 1, 1.0, 0.35)
    year_weight = np.array([r[4] for r in REGIONS])
    categories = list(CATALOG)
    pcat = products["category"].map(categories.index).to_numpy()
    popularity = rng.lognormal(0.0, 0.8, len(products)) * (products["unit_price_cents"] / 100) ** -0.3
    launched = products["launched_on"].to_numpy()

    o_cust, o_date, i_order, i_prod, i_disc = [], [], [], [], []
    n_done = 0
    for month, n in zip(months, counts, strict=True):
        k = int(np.searchsorted(signup, month.to_datetime64(), side="right"))
        w = base[:k] * year_weight[region[:k], month.year - START.year]
        o_cust.append(rng.choice(k, size=n, p=w / w.sum()))
        mdays = pd.date_range(month, month + pd.offsets.MonthEnd(0), freq="D")
        dw = WEEKDAY[mdays.day_of_week] * _holiday_factor(mdays)
        o_date.append(np.sort(mdays.values[rng.choice(len(mdays), size=n, p=dw / dw.sum())]))
        n_items = np.minimum(1 + rng.poisson(1.5, size=n), 8)
        i_order.append(np.repeat(np.arange(n_done, n_done + n), n_items))
        n_done += n
        ok = np.flatnonzero(launched <= month.to_datetime64())
        season = np.array([CATALOG[c][1].get(month.month, 1.0) for c in categories])[pcat[ok]]
        pw = popularity.to_numpy()[ok] * season
        i_prod.append(ok[rng.choice(len(ok), size=n_items.sum(), p=pw / pw.sum())])
        p_disc = [0.45, 0.15, 0.15, 0.12, 0.08, 0.05] if month.month in (11, 12) else [0.72, 0.12, 0.09, 0.05, 0.02, 0.0]
        i_disc.append(rng.choice([0, 5, 10, 15, 20, 25], size=n_items.sum(), p=p_disc))

    cust = np.concatenate(o_cust)
    dates = pd.DatetimeIndex(np.concatenate(o_date))
    n_orders = len(cust)
    year_idx = np.clip(dates.year - START.year, 0, 3)
    mix = np.array([[0.58, 0.17, 0.25], [0.55, 0.23, 0.22], [0.51, 0.30, 0.19], [0.48, 0.35, 0.17]])
    channel = (rng.random(n_orders)[:, None] > mix[year_idx].cumsum(axis=1)).sum(axis=1)
    age_days = (END - dates).days.to_numpy()
    status = rng.choice([0, 2, 3], size=n_orders, p=[0.89, 0.05, 0.06])
    status[(rng.random(n_orders) < 1 - age_days / 21) & (status == 0)] = 1  # recent ones in transit
    status[(age_days < 7) & (status == 3)] = 1
    orders = pd.DataFrame({
        "id": np.arange(1, n_orders + 1), "customer_id": cust + 1, "order_date": dates.normalize(),
        "status": np.array(STATUSES)[status], "channel": np.array(CHANNELS)[channel],
    })

    item_order = np.concatenate(i_order)
    item_prod = np.concatenate(i_prod)
    disc = np.concatenate(i_disc)
    qty_mean = np.array([0.3, 1.5, 4.0])[segment[cust[item_order]]]
    qty = 1 + rng.poisson(qty_mean)
    level = np.array([PRICE_LEVEL[y] for y in dates.year])[item_order]
    price = np.rint(products["unit_price_cents"].to_numpy()[item_prod] * level).astype("int64")
    items = pd.DataFrame({
        "id": np.arange(1, len(item_order) + 1), "order_id": item_order + 1,
        "product_id": item_prod + 1, "quantity": qty, "unit_price_cents": price, "discount_pct": disc,
    })
    # exact total in 1/100 cent, then round half up to whole cents (amounts are positive)
    line = qty.astype("int64") * price * (100 - disc)
    total = np.zeros(n_orders, dtype="int64")
    np.add.at(total, item_order, line)
    orders["amount_cents"] = (total + 50) // 100
    return orders, items


def _holiday_factor(days: pd.DatetimeIndex) -> np.ndarray:
    factor = np.ones(len(days))
    factor[(days.month == 11) & (days.day >= 20)] = 2.2  # Black Friday / Cyber Monday week
    factor[(days.month == 12) & (days.day <= 20)] = 1.5
    factor[(days.month == 12) & (days.day.isin([24, 25, 26]))] = 0.5
    return factor


def _regions(rng: np.random.Generator, customers: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    sold = orders[orders["status"].isin(["completed", "shipped"]) & (orders["order_date"].dt.year == 2024)]
    region_of = customers.set_index("id")["region"]
    revenue = sold.groupby(sold["customer_id"].map(region_of))["amount_cents"].sum() / 100
    rows = []
    for i, (name, manager, *_rest) in enumerate(REGIONS):
        target = round(float(revenue.get(name, 0.0)) * rng.uniform(1.05, 1.25), -3)
        rows.append((i + 1, name, manager, target))
    return pd.DataFrame(rows, columns=["id", "name", "manager", "sales_target"])


CRM_DDL = """
CREATE TABLE regions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    manager TEXT NOT NULL,
    sales_target REAL NOT NULL  -- yearly revenue target in USD for 2025
);
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    segment TEXT NOT NULL CHECK (segment IN ('Consumer', 'Small Business', 'Enterprise')),
    country TEXT NOT NULL,
    city TEXT NOT NULL,
    region TEXT NOT NULL REFERENCES regions(name),
    signup_date DATE NOT NULL,
    is_active INTEGER NOT NULL CHECK (is_active IN (0, 1))
);
CREATE INDEX customers_region ON customers(region);
"""

SALES_DDL = """
CREATE TABLE products (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, category VARCHAR NOT NULL,
    unit_price DECIMAL(10,2) NOT NULL, unit_cost DECIMAL(10,2) NOT NULL, launched_on DATE NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, order_date DATE NOT NULL,
    status VARCHAR NOT NULL, channel VARCHAR NOT NULL, amount DECIMAL(12,2) NOT NULL);
CREATE TABLE order_items (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id),
    product_id INTEGER NOT NULL REFERENCES products(id), quantity INTEGER NOT NULL,
    unit_price DECIMAL(10,2) NOT NULL, discount DECIMAL(4,2) NOT NULL);
"""

SALES_COMMENTS = {
    "products": "Product catalog with current list prices",
    "products.category": "Product category: Electronics, Home, Sports, Books, Toys or Beauty",
    "products.unit_price": "Current list price per unit in USD",
    "products.unit_cost": "Cost per unit in USD (for margin)",
    "products.launched_on": "Date the product went on sale",
    "orders": "One row per customer order, 2022-01-01 to 2025-06-30",
    "orders.customer_id": "Customer who ordered; refers to shop_crm.customers.id (other database)",
    "orders.order_date": "Date the order was placed",
    "orders.status": "completed, shipped (in transit), cancelled or returned; revenue usually excludes cancelled and returned",
    "orders.channel": "Sales channel: web, mobile or store",
    "orders.amount": "Order total in USD after discounts",
    "order_items": "Order lines: one product and quantity per row",
    "order_items.quantity": "Number of units ordered",
    "order_items.unit_price": "Price per unit in USD at the time of the order, before discount",
    "order_items.discount": "Discount as a fraction of the line price (0.10 = 10 percent off)",
}


def write_crm(path: Path, data: ShopData) -> None:
    """Write ``regions`` and ``customers`` into a new SQLite file at ``path``."""
    with closing(sqlite3.connect(path)) as con:
        con.execute("PRAGMA foreign_keys = ON")
        with con:
            con.executescript(CRM_DDL)
            con.executemany("INSERT INTO regions VALUES (?, ?, ?, ?)",
                            data.regions.itertuples(index=False, name=None))
            con.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [tuple(_py(v) for v in row)
                             for row in data.customers.itertuples(index=False, name=None)])


def write_sales(path: Path, data: ShopData) -> None:
    """Write ``products``, ``orders`` and ``order_items`` into a new DuckDB file at ``path``."""
    with duckdb.connect(str(path)) as con:
        con.execute(SALES_DDL)
        con.register("p", data.products)
        con.execute("INSERT INTO products SELECT id, name, category, unit_price_cents * 0.01,"
                    " unit_cost_cents * 0.01, CAST(launched_on AS DATE) FROM p ORDER BY id")
        con.register("o", data.orders)
        con.execute("INSERT INTO orders SELECT id, customer_id, CAST(order_date AS DATE), status,"
                    " channel, amount_cents * 0.01 FROM o ORDER BY id")
        con.register("i", data.order_items)
        con.execute("INSERT INTO order_items SELECT id, order_id, product_id, quantity,"
                    " unit_price_cents * 0.01, discount_pct * 0.01 FROM i ORDER BY id")
        for name in ("p", "o", "i"):
            con.unregister(name)
        for target, text in SALES_COMMENTS.items():
            kind = "COLUMN" if "." in target else "TABLE"
            con.execute(f"COMMENT ON {kind} {target} IS '{text}'")
        con.execute("CHECKPOINT")


def _py(value):
    return value.item() if isinstance(value, np.generic) else value
