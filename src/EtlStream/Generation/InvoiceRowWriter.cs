using System.Text;

namespace EtlStream.Generation;

/// <summary>
/// Writes invoice rows as UTF-8 CSV bytes into spans. Value pools (dealers, products, territories, remarks, ...)
/// are built once from the seed; every row then costs a few dozen PRNG draws and span writes, no allocation.
/// </summary>
internal sealed class InvoiceRowWriter
{
    /// <summary>Upper bound of one row's bytes (names ≤ 100 chars, remarks ≤ 300 chars, ≤ 3 UTF-8 bytes each, quotes doubled).</summary>
    internal const int MaxRowBytes = 4096;

    private const int FirstDay = 739251; // DateOnly(2025, 1, 1).DayNumber
    private const int DayCount = 730;

    private static readonly string[] FirstNames =
    [
        "Ravi", "Anita", "Arjun", "Priya", "Deepak", "Sneha", "Kiran", "Rahul", "Meera", "Vikram", "Farhan", "Omar",
        "Fatima", "Ayşe", "Mehmet", "José", "Lucía", "Jürgen", "Zoë", "André", "Raj", "Sunil", "Lakshmi", "Imran",
        "राजेश", "सुनीता", "अमित", "Nikhil", "Pooja", "Hassan",
    ];

    private static readonly string[] Surnames =
    [
        "Sharma", "Patel", "Gupta", "Reddy", "Iyer", "Nair", "Khan", "Singh", "Mehta", "Joshi", "Rao", "Verma", "Das",
        "Bose", "Kapoor", "Malhotra", "Agarwal", "Chopra", "Pillai", "Menon", "Müller", "Şahin", "Nuñez", "Çelik",
        "Öztürk", "Gómez", "Schäfer", "Yılmaz", "Peña", "Al Farsi", "D'Souza", "O'Brien", "शर्मा", "पटेल", "गुप्ता",
        "Fernandes", "Qureshi", "Bhattacharya", "Krishnan", "Sethi",
    ];

    private static readonly string[] DealerSuffixes =
    [
        "Traders", "Distributors", "Enterprises", "Agencies", "& Sons", "Wholesale", "Retail", "Stores",
        "Marketing", "Brothers", "Trading Co.", "Supply Chain", "General Stores", "Mart",
    ];

    private static readonly string[] Nicknames = ["Lucky", "Star", "Golden", "Raja", "Bharat", "Best"];

    private static readonly string[] Cities =
    [
        "Mumbai", "Delhi", "Bengaluru", "Chennai", "Kolkata", "Hyderabad", "Pune", "Ahmedabad", "Jaipur", "Lucknow",
        "Kanpur", "Nagpur", "Indore", "Bhopal", "Patna", "Vadodara", "Ludhiana", "Agra", "Nashik", "Surat",
        "Rajkot", "Varanasi", "Amritsar", "Ranchi", "Coimbatore", "Madurai", "Kochi", "Mysuru", "Guwahati",
        "Bhubaneswar", "Dehradun", "Raipur", "Jodhpur", "Udaipur", "Vijayawada", "Visakhapatnam", "Thane",
        "Noida", "Gurugram", "Dubai", "Sharjah", "Abu Dhabi", "Muscat", "Doha", "Kathmandu", "Colombo",
        "Dhaka", "Chandigarh", "Goa", "Mangaluru",
    ];

    private static readonly string[] TerritoryQualifiers =
    [
        "Urban", "Rural", "North", "South", "East", "West", "Central", "Metro", "Outskirts", "Industrial Area",
        "Old City", "Cantonment",
    ];

    private static readonly string[] Regions =
        ["North", "South", "East", "West", "Central", "North-East", "Gulf", "Export"];

    private static readonly string[] Categories =
    [
        "Beverages", "Snacks", "Dairy", "Bakery", "Personal Care", "Home Care", "Staples", "Spices", "Edible Oils",
        "Confectionery", "Frozen Foods", "Baby Care", "Health Drinks", "Cleaning Supplies", "Stationery",
        "Electricals", "Hardware", "Paints", "Pharma OTC", "Ayurvedic", "Pet Care", "Cosmetics", "Hair Care",
        "Oral Care", "Ready to Eat", "Pulses", "Rice", "Flour", "Tea & Coffee", "Tobacco",
    ];

    private static readonly string[] Brands =
    [
        "Tata", "Amul", "Britannia", "Parle", "Dabur", "Haldiram's", "Nestlé", "Crème Royale", "Häagen Style",
        "Godrej", "Marico", "Emami", "Patanjali", "Himalaya", "Colgate", "Surf", "Asian", "Havells", "Fevicol",
        "MTR", "Everest", "Fortune", "Aashirvaad", "India Gate", "Señorita", "Bikanervala", "सरस", "Mother Dairy",
    ];

    private static readonly string[] Items =
    [
        "Salt", "Tea", "Coffee", "Biscuits", "Namkeen", "Ghee", "Butter", "Paneer", "Shampoo", "Soap", "Detergent",
        "Toothpaste", "Hair Oil", "Face Cream", "Basmati Rice", "Atta", "Toor Dal", "Masala", "Sunflower Oil",
        "Mustard Oil", "Juice", "Cola", "Chocolate", "Noodles", "Ketchup", "Pickle", "Wall Putty", "LED Bulb",
        "PVC Pipe", "Adhesive", "Floor Cleaner", "Diapers",
    ];

    private static readonly string[] Variants =
    [
        "Classic", "Premium", "Gold", "Lite", "Family Pack", "Value Pack", "Sugar Free", "Herbal", "Extra Strong",
        "Original", "Masala", "Rose", "Lemon", "Kesar", "Organic", "Super Saver",
    ];

    private static readonly string[] Sizes =
        ["50g", "100g", "200g", "250g", "500g", "1kg", "2kg", "5kg", "10kg", "200ml", "500ml", "1L", "5L", "12 pcs", "Pack of 6"];

    private static readonly string[] RemarkWords =
    [
        "delivery", "delayed", "due", "to", "rain", "customer", "requested", "credit", "note", "for", "damaged",
        "cartons", "scheme", "applied", "as", "per", "circular", "please", "verify", "rate", "with", "dealer",
        "payment", "received", "cheque", "bounced", "GST", "invoice", "revised", "short", "supply", "of", "units",
        "return", "against", "batch", "expiry", "near", "promo", "free", "goods", "included", "approved", "by",
        "ASM", "RSM", "Müller", "Lieferung", "Şube", "niño", "आदेश", "भुगतान", "stock", "transfer", "from",
        "warehouse", "urgent,", "pending,", "OK,", "the", "and", "on", "order",
    ];

    private static readonly byte[] HeaderBytes = Encoding.UTF8.GetBytes(string.Join(',', InvoiceGenerator.Header) + "\n");
    private static readonly byte[] Inr = "INR"u8.ToArray();
    private static readonly byte[] Usd = "USD"u8.ToArray();
    private static readonly byte[] Aed = "AED"u8.ToArray();

    private readonly Dealer[] _dealers;
    private readonly Territory[] _territories;
    private readonly Field[] _regions;
    private readonly Product[] _products;
    private readonly Field[] _categories;
    private readonly byte[][] _salesmen;
    private readonly Field[] _remarks;
    private readonly byte[][] _invoiceDates;   // dd-MM-yyyy
    private readonly byte[][] _createdDates;   // yyyy-MM-dd + space
    private readonly long _invoiceOffset;
    private Xoshiro256StarStar _rng;
    private long _row;

    public InvoiceRowWriter(int seed)
    {
        var pools = new Xoshiro256StarStar(unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + 1));
        _rng = new Xoshiro256StarStar(unchecked((ulong)(uint)seed));

        _regions = Array.ConvertAll(Regions, Field.From);
        _categories = Array.ConvertAll(Categories, Field.From);
        _territories = BuildTerritories(ref pools);
        _dealers = BuildDealers(ref pools, 5000);
        _products = BuildProducts(ref pools, 4000);
        _salesmen = BuildCodes(ref pools, 'S', 5, 600);
        _remarks = BuildRemarks(ref pools, 3000);
        _invoiceDates = new byte[DayCount][];
        _createdDates = new byte[DayCount][];
        for (int i = 0; i < DayCount; i++)
        {
            DateOnly day = DateOnly.FromDayNumber(FirstDay + i);
            _invoiceDates[i] = Encoding.ASCII.GetBytes(day.ToString("dd-MM-yyyy", System.Globalization.CultureInfo.InvariantCulture));
            _createdDates[i] = Encoding.ASCII.GetBytes(day.ToString("yyyy-MM-dd ", System.Globalization.CultureInfo.InvariantCulture));
        }

        _invoiceOffset = pools.Next(100_000_000);
    }

    public static int WriteHeader(Span<byte> destination)
    {
        HeaderBytes.CopyTo(destination);
        return HeaderBytes.Length;
    }

    /// <summary>Writes whole rows while they fit and rows remain; returns the bytes written.</summary>
    public int WriteRows(Span<byte> destination, ref long remaining)
    {
        int pos = 0;
        while (remaining > 0 && destination.Length - pos >= MaxRowBytes)
        {
            pos += WriteRow(destination[pos..]);
            remaining--;
        }

        return pos;
    }

    private int WriteRow(Span<byte> d)
    {
        ref Xoshiro256StarStar rng = ref _rng;
        int p = 0;
        long row = _row++;

        // 1 Invoice_No
        "INV-"u8.CopyTo(d);
        p = 4;
        WriteDigits(d, ref p, (ulong)(100_000_000 + ((_invoiceOffset + row) % 900_000_000)), 9);
        d[p++] = (byte)',';

        // 2 Invoice_Date
        int day = rng.Next(DayCount);
        Put(d, ref p, _invoiceDates[day]);
        d[p++] = (byte)',';

        // 3, 4 Dealer_Code, Dealer_Name
        ref readonly Dealer dealer = ref _dealers[rng.Next(_dealers.Length)];
        Put(d, ref p, dealer.Code);
        d[p++] = (byte)',';
        WriteText(d, ref p, dealer.Name);
        d[p++] = (byte)',';

        // 5, 6 Territory, Region (a dealer sells in one territory)
        ref readonly Territory territory = ref _territories[dealer.Territory];
        WriteText(d, ref p, territory.Name);
        d[p++] = (byte)',';
        WriteText(d, ref p, _regions[territory.Region]);
        d[p++] = (byte)',';

        // 7, 8, 9 Product_Code, Product_Name, Category
        ref readonly Product product = ref _products[rng.Next(_products.Length)];
        Put(d, ref p, product.Code);
        d[p++] = (byte)',';
        WriteText(d, ref p, product.Name);
        d[p++] = (byte)',';
        WriteText(d, ref p, _categories[product.Category]);
        d[p++] = (byte)',';

        // 10 Qty: 3 % zero, otherwise uniform over -50..500 without 0
        int qty = 0;
        if (!rng.Chance(30))
        {
            qty = rng.Next(-50, 499);
            if (qty >= 0)
            {
                qty++;
            }
        }

        WriteInteger(d, ref p, qty);
        d[p++] = (byte)',';

        // 11..15 Unit_Price, Discount_Pct, Net, Tax, Gross (cents; hundredths of a percent)
        long price = product.PriceCents * rng.Next(950, 1050) / 1000;
        int discount = rng.Chance(450) ? 0 : rng.Next(1, 4000);
        long net = RoundDiv(qty * price * (10_000 - discount), 10_000);
        long tax = RoundDiv(net * 18, 100);
        WriteCents(d, ref p, price);
        d[p++] = (byte)',';
        WriteCents(d, ref p, discount);
        d[p++] = (byte)',';
        WriteCents(d, ref p, net);
        d[p++] = (byte)',';
        WriteCents(d, ref p, tax);
        d[p++] = (byte)',';
        WriteCents(d, ref p, net + tax);
        d[p++] = (byte)',';

        // 16 Currency
        int currency = rng.Next(1000);
        Put(d, ref p, currency < 850 ? Inr : currency < 950 ? Usd : Aed);
        d[p++] = (byte)',';

        // 17 Salesman_Code, ~5 % empty
        if (!rng.Chance(50))
        {
            Put(d, ref p, _salesmen[rng.Next(_salesmen.Length)]);
        }

        d[p++] = (byte)',';

        // 18 Active_Flag
        d[p++] = rng.Chance(900) ? (byte)'Y' : (byte)'N';
        d[p++] = (byte)',';

        // 19 Created_At: the invoice day at a random time
        Put(d, ref p, _createdDates[day]);
        int seconds = rng.Next(86_400);
        WriteDigits(d, ref p, (ulong)(seconds / 3600), 2);
        d[p++] = (byte)':';
        WriteDigits(d, ref p, (ulong)(seconds / 60 % 60), 2);
        d[p++] = (byte)':';
        WriteDigits(d, ref p, (ulong)(seconds % 60), 2);
        d[p++] = (byte)',';

        // 20 Remarks, mostly empty
        if (rng.Chance(140))
        {
            WriteText(d, ref p, _remarks[rng.Next(_remarks.Length)]);
        }

        d[p++] = (byte)',';

        // 21 Batch_No, ~5 % empty
        if (!rng.Chance(50))
        {
            d[p++] = (byte)'B';
            uint batch = (uint)rng.NextUInt64();
            for (int shift = 28; shift >= 0; shift -= 4)
            {
                d[p++] = (byte)"0123456789ABCDEF"[(int)(batch >> shift) & 0xF];
            }
        }

        d[p++] = (byte)',';

        // 22 Is_Return: negative quantities are returns
        Put(d, ref p, qty < 0 ? "TRUE"u8 : "FALSE"u8);
        d[p++] = (byte)'\n';
        return p;
    }

    /// <summary>A text cell: about 2 % carry a leading and/or trailing space (inside the quotes when quoted).</summary>
    private void WriteText(Span<byte> d, ref int p, in Field field)
    {
        int pad = _rng.Chance(20) ? 1 + _rng.Next(3) : 0; // 1 leading, 2 trailing, 3 both
        if (field.Quoted)
        {
            d[p++] = (byte)'"';
        }

        if ((pad & 1) != 0)
        {
            d[p++] = (byte)' ';
        }

        Put(d, ref p, field.Body);
        if ((pad & 2) != 0)
        {
            d[p++] = (byte)' ';
        }

        if (field.Quoted)
        {
            d[p++] = (byte)'"';
        }
    }

    private static void Put(Span<byte> d, ref int p, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(d[p..]);
        p += bytes.Length;
    }

    private static void WriteDigits(Span<byte> d, ref int p, ulong value, int width)
    {
        for (int i = width - 1; i >= 0; i--)
        {
            d[p + i] = (byte)('0' + (int)(value % 10));
            value /= 10;
        }

        p += width;
    }

    private static void WriteInteger(Span<byte> d, ref int p, long value)
    {
        if (value < 0)
        {
            d[p++] = (byte)'-';
            value = -value;
        }

        int width = 1;
        for (long v = value; v >= 10; v /= 10)
        {
            width++;
        }

        WriteDigits(d, ref p, (ulong)value, width);
    }

    private static void WriteCents(Span<byte> d, ref int p, long cents)
    {
        if (cents < 0)
        {
            d[p++] = (byte)'-';
            cents = -cents;
        }

        WriteInteger(d, ref p, cents / 100);
        d[p++] = (byte)'.';
        WriteDigits(d, ref p, (ulong)(cents % 100), 2);
    }

    /// <summary>Integer division rounding half away from zero.</summary>
    private static long RoundDiv(long numerator, long denominator) =>
        numerator >= 0
            ? (numerator + (denominator / 2)) / denominator
            : -((-numerator + (denominator / 2)) / denominator);

    private Territory[] BuildTerritories(ref Xoshiro256StarStar rng)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var territories = new List<Territory>(200);
        while (territories.Count < 200)
        {
            string city = Cities[rng.Next(Cities.Length)];
            string name = rng.Chance(200) ? city : $"{city} {TerritoryQualifiers[rng.Next(TerritoryQualifiers.Length)]}";
            if (names.Add(name))
            {
                territories.Add(new Territory(Field.From(name), rng.Next(_regions.Length)));
            }
        }

        return [.. territories];
    }

    private Dealer[] BuildDealers(ref Xoshiro256StarStar rng, int count)
    {
        byte[][] codes = BuildCodes(ref rng, 'D', 6, count);
        var dealers = new Dealer[count];
        for (int i = 0; i < count; i++)
        {
            string surname = Pick(ref rng, Surnames);
            string suffix = Pick(ref rng, DealerSuffixes);
            int pattern = rng.Next(100);
            string name = pattern switch
            {
                < 40 => $"{surname} {suffix}",
                < 60 => $"{Pick(ref rng, FirstNames)} {surname} {suffix}",
                < 70 => $"{surname} {suffix}, {Pick(ref rng, Cities)}",
                < 75 => $"{surname} & {Pick(ref rng, Surnames)}, {suffix}",
                < 79 => $"{surname} \"{Pick(ref rng, Nicknames)}\" {suffix}",
                _ => $"{Pick(ref rng, FirstNames)} {surname} {suffix} Pvt. Ltd.",
            };
            dealers[i] = new Dealer(codes[i], Field.From(Truncate(name, 80)), rng.Next(_territories.Length));
        }

        return dealers;
    }

    private static Product[] BuildProducts(ref Xoshiro256StarStar rng, int count)
    {
        byte[][] codes = BuildCodes(ref rng, 'P', 6, count);
        var products = new Product[count];
        for (int i = 0; i < count; i++)
        {
            string brand = Pick(ref rng, Brands);
            string item = Pick(ref rng, Items);
            string variant = Pick(ref rng, Variants);
            string size = Pick(ref rng, Sizes);
            int pattern = rng.Next(100);
            string name = pattern switch
            {
                < 55 => $"{brand} {item} {variant} {size}",
                < 75 => $"{brand} {item} {size}",
                < 85 => $"{brand} {item}, {variant} {size}",
                < 90 => $"{brand} \"{variant}\" {item} {size}",
                < 93 => $"{item} {rng.Next(1, 24)}\" {brand} {variant}",
                _ => $"{brand} {item} {variant} {size} - Combo with {Pick(ref rng, Items)} {Pick(ref rng, Sizes)}",
            };

            // log-uniform 5.00 .. 25,000.00
            long priceCents = (long)(500 * Math.Pow(5000, rng.Next(1_000_000) / 1_000_000.0));
            products[i] = new Product(codes[i], Field.From(Truncate(name, 100)), rng.Next(Categories.Length), priceCents);
        }

        return products;
    }

    private static Field[] BuildRemarks(ref Xoshiro256StarStar rng, int count)
    {
        var remarks = new Field[count];
        var text = new StringBuilder(320);
        for (int i = 0; i < count; i++)
        {
            int band = rng.Next(100);
            int target = band < 60 ? rng.Next(10, 60) : band < 90 ? rng.Next(60, 150) : rng.Next(150, 300);
            text.Clear();
            int newlineAt = rng.Chance(80) ? rng.Next(5, Math.Max(6, target - 5)) : -1;
            while (text.Length < target)
            {
                if (text.Length > 0)
                {
                    bool newline = newlineAt >= 0 && text.Length >= newlineAt;
                    text.Append(newline ? '\n' : ' ');
                    if (newline)
                    {
                        newlineAt = -1;
                    }
                }

                text.Append(rng.Chance(15) ? $"\"{Pick(ref rng, RemarkWords)}\"" : Pick(ref rng, RemarkWords));
            }

            text[0] = char.ToUpperInvariant(text[0]);
            remarks[i] = Field.From(Truncate(text.ToString().TrimEnd(), 300));
        }

        return remarks;
    }

    private static byte[][] BuildCodes(ref Xoshiro256StarStar rng, char prefix, int digits, int count)
    {
        int limit = (int)Math.Pow(10, digits);
        var seen = new HashSet<int>();
        var codes = new byte[count][];
        for (int i = 0; i < count;)
        {
            int number = rng.Next(limit / 10, limit - 1);
            if (seen.Add(number))
            {
                codes[i++] = Encoding.ASCII.GetBytes(prefix + number.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return codes;
    }

    private static string Pick(ref Xoshiro256StarStar rng, string[] values) => values[rng.Next(values.Length)];

    private static string Truncate(string value, int maxChars) => value.Length <= maxChars ? value : value[..maxChars].TrimEnd();

    private readonly record struct Dealer(byte[] Code, Field Name, int Territory);

    private readonly record struct Territory(Field Name, int Region);

    private readonly record struct Product(byte[] Code, Field Name, int Category, long PriceCents);

    /// <summary>A text value as its CSV body (quotes doubled) and whether it must be quoted.</summary>
    private readonly record struct Field(byte[] Body, bool Quoted)
    {
        public static Field From(string value)
        {
            bool quoted = value.AsSpan().IndexOfAny(",\"\n\r") >= 0;
            return new Field(Encoding.UTF8.GetBytes(quoted ? value.Replace("\"", "\"\"", StringComparison.Ordinal) : value), quoted);
        }
    }
}
