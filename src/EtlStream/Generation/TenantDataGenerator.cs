using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace EtlStream.Generation;

/// <summary>
/// Generates one day of a tenant's uploads: the standard job's invoices (<see cref="InvoiceGenerator"/>) and four
/// dimension snapshots (<c>configs/schemas/*.yaml</c>) whose keys join with them. Every file is gzip CSV: header row,
/// RFC 4180 quoting, UTF-8 without BOM, <c>\n</c> line endings.
/// </summary>
/// <remarks>
/// The dimensions are sampled from the invoice rows the same seed generates, in order of first appearance, so their
/// codes, names, territories and regions are the ones the fact table holds. They depend on the seed only: every day
/// has the same keys and the same row counts (<see cref="DealerCount"/>, <see cref="ProductCount"/>,
/// <see cref="SalesmanCount"/>, and every territory of the invoice data, <see cref="TerritoryCount"/>), so a full
/// refresh has a known exact count. What changes from day to day is the <c>Active</c> flag of dealers and products.
/// The invoices depend on the seed and row count only (their dates span 2025–2026 whatever the file's date).
/// </remarks>
public static class TenantDataGenerator
{
    /// <summary>Rows of every <c>dealers_*.csv.gz</c>.</summary>
    public const int DealerCount = 200;

    /// <summary>Rows of every <c>products_*.csv.gz</c>.</summary>
    public const int ProductCount = 150;

    /// <summary>Rows of every <c>salesmen_*.csv.gz</c>.</summary>
    public const int SalesmanCount = 60;

    /// <summary>Rows of every <c>territories_*.csv.gz</c>: the distinct territories of the invoice data (its pool holds 200).</summary>
    public const int TerritoryCount = 200;

    /// <summary>The keys of <see cref="WriteDayAsync"/>'s counts, which are also the files' name prefixes.</summary>
    public static readonly IReadOnlyList<string> Tables = Array.AsReadOnly(["invoices", "dealers", "products", "salesmen", "territories"]);

    /// <summary>More invoice rows than this are never read to find the dimensions (a few thousand do in practice).</summary>
    private const long MaxSampleRows = 500_000;

    private static readonly string[] DealerHeader = ["Dealer_Code", "Dealer_Name", "Territory", "Region", "Active", "Onboarded_On"];
    private static readonly string[] ProductHeader = ["Product_Code", "Product_Name", "Category", "Unit_Price", "Active"];
    private static readonly string[] SalesmanHeader = ["Salesman_Code", "Salesman_Name", "Territory", "Joined_On"];
    private static readonly string[] TerritoryHeader = ["Territory", "Region", "Zone"];

    private static readonly string[] FirstNames =
    [
        "Amit", "Sanjay", "Neha", "Rohit", "Kavita", "Manoj", "Shreya", "Vivek", "Anjali", "Suresh", "Divya", "Karan",
        "Yusuf", "Zainab", "Gökhan", "Inés", "Renée", "Prakash", "Rekha", "Arvind",
    ];

    private static readonly string[] Surnames =
    [
        "Kulkarni", "Deshpande", "Banerjee", "Chatterjee", "Saxena", "Tiwari", "Pandey", "Mishra", "Bhat", "Hegde",
        "Naidu", "Shetty", "Sinha", "Thakur", "Yadav", "Ansari", "Siddiqui", "D'Costa", "Özdemir", "Muñoz",
    ];

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>
    /// Writes <c>invoices_{yyyy-MM-dd}.csv.gz</c> (<paramref name="invoiceRows"/> rows), <c>dealers_</c>, <c>products_</c>,
    /// <c>salesmen_</c> and <c>territories_{yyyy-MM-dd}.csv.gz</c> into <paramref name="folder"/> (created if missing),
    /// byte-identical for the same arguments. Returns the data rows written per table (<see cref="Tables"/>).
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, long>> WriteDayAsync(
        string folder, DateOnly date, int seed, long invoiceRows, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentOutOfRangeException.ThrowIfNegative(invoiceRows);
        Directory.CreateDirectory(folder);
        string day = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

        await InvoiceGenerator.WriteFileAsync(Path.Combine(folder, $"invoices_{day}.csv.gz"), invoiceRows, seed, cancellationToken)
            .ConfigureAwait(false);

        Snapshot snapshot = Snapshot.Sample(seed);
        cancellationToken.ThrowIfCancellationRequested();
        var today = new Xoshiro256StarStar(unchecked((((ulong)(uint)seed << 32) | (uint)date.DayNumber) * 0x9E3779B97F4A7C15UL));

        var dealers = new List<string[]>(snapshot.Dealers.Count);
        foreach (DealerRow d in snapshot.Dealers)
        {
            dealers.Add([d.Code, d.Name, d.Territory, d.Region, today.Chance(40) ? "N" : "Y", FormatDate(d.OnboardedOn)]);
        }

        var products = new List<string[]>(snapshot.Products.Count);
        foreach (ProductRow p in snapshot.Products)
        {
            products.Add([p.Code, p.Name, p.Category, p.UnitPrice, today.Chance(50) ? "N" : "Y"]);
        }

        var salesmen = new List<string[]>(snapshot.Salesmen.Count);
        foreach (SalesmanRow s in snapshot.Salesmen)
        {
            salesmen.Add([s.Code, s.Name, s.Territory, FormatDate(s.JoinedOn)]);
        }

        var territories = new List<string[]>(snapshot.Territories.Count);
        foreach ((string territory, string region) in snapshot.Territories)
        {
            territories.Add([territory, region, ZoneOf(region)]);
        }

        return new Dictionary<string, long>(StringComparer.Ordinal)
        {
            ["invoices"] = invoiceRows,
            ["dealers"] = await WriteTableAsync(folder, "dealers", day, DealerHeader, dealers, cancellationToken).ConfigureAwait(false),
            ["products"] = await WriteTableAsync(folder, "products", day, ProductHeader, products, cancellationToken).ConfigureAwait(false),
            ["salesmen"] = await WriteTableAsync(folder, "salesmen", day, SalesmanHeader, salesmen, cancellationToken).ConfigureAwait(false),
            ["territories"] = await WriteTableAsync(folder, "territories", day, TerritoryHeader, territories, cancellationToken).ConfigureAwait(false),
        };
    }

    private static async Task<long> WriteTableAsync(
        string folder, string table, string day, string[] header, List<string[]> rows, CancellationToken cancellationToken)
    {
        var text = new StringBuilder(64 * (rows.Count + 1));
        AppendRecord(text, header);
        foreach (string[] row in rows)
        {
            AppendRecord(text, row);
        }

        byte[] bytes = Utf8.GetBytes(text.ToString());
        var file = new FileStream(Path.Combine(folder, $"{table}_{day}.csv.gz"), FileMode.Create, FileAccess.Write, FileShare.None);
        await using (file.ConfigureAwait(false))
        {
            var gzip = new GZipStream(file, CompressionLevel.Optimal, leaveOpen: true);
            await using (gzip.ConfigureAwait(false))
            {
                await gzip.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            }
        }

        return rows.Count;
    }

    private static void AppendRecord(StringBuilder text, string[] fields)
    {
        for (int i = 0; i < fields.Length; i++)
        {
            if (i > 0)
            {
                text.Append(',');
            }

            string value = fields[i];
            if (value.AsSpan().IndexOfAny(",\"\n\r") >= 0)
            {
                text.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            }
            else
            {
                text.Append(value);
            }
        }

        text.Append('\n');
    }

    private static string FormatDate(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string ZoneOf(string region) => region switch
    {
        "North" or "Central" => "North Zone",
        "East" or "North-East" => "East Zone",
        "South" => "South Zone",
        "West" => "West Zone",
        _ => "International",
    };

    private readonly record struct DealerRow(string Code, string Name, string Territory, string Region, DateOnly OnboardedOn);

    private readonly record struct ProductRow(string Code, string Name, string Category, string UnitPrice);

    private readonly record struct SalesmanRow(string Code, string Name, string Territory, DateOnly JoinedOn);

    /// <summary>The seed's dimension rows: the first distinct dealers, products, salesmen and territories its invoices show.</summary>
    private sealed class Snapshot
    {
        // Invoice columns read (InvoiceGenerator.Header order).
        private const int DealerCode = 2, DealerName = 3, Territory = 4, Region = 5, ProductCode = 6, ProductName = 7,
            Category = 8, UnitPrice = 10, SalesmanCode = 16, FieldCount = 22;

        private readonly HashSet<string> _dealerCodes = new(StringComparer.Ordinal);
        private readonly HashSet<string> _productCodes = new(StringComparer.Ordinal);
        private readonly HashSet<string> _salesmanCodes = new(StringComparer.Ordinal);
        private readonly HashSet<string> _territoryNames = new(StringComparer.Ordinal);
        private readonly List<(string Code, string Name, string Territory, string Region)> _dealers = new(DealerCount);
        private readonly List<string> _salesmen = new(SalesmanCount);

        public List<DealerRow> Dealers { get; } = new(DealerCount);

        public List<ProductRow> Products { get; } = new(ProductCount);

        public List<SalesmanRow> Salesmen { get; } = new(SalesmanCount);

        public List<(string Territory, string Region)> Territories { get; } = new(TerritoryCount);

        private bool Complete =>
            _dealers.Count == DealerCount && Products.Count == ProductCount && _salesmen.Count == SalesmanCount
            && Territories.Count == TerritoryCount;

        public static Snapshot Sample(int seed)
        {
            var snapshot = new Snapshot();
            var writer = new InvoiceRowWriter(seed);
            byte[] buffer = new byte[256 * InvoiceRowWriter.MaxRowBytes];
            Span<Range> fields = stackalloc Range[FieldCount];
            long remaining = MaxSampleRows;
            while (remaining > 0 && !snapshot.Complete)
            {
                int length = writer.WriteRows(buffer, ref remaining);
                ReadOnlySpan<byte> data = buffer.AsSpan(0, length);
                int pos = 0;
                while (pos < data.Length && !snapshot.Complete)
                {
                    pos = SplitRecord(data, pos, fields);
                    snapshot.Add(data, fields);
                }
            }

            snapshot.Finish(seed);
            return snapshot;
        }

        /// <summary>Finds the fields of the record starting at <paramref name="pos"/>; returns where the next record starts.</summary>
        private static int SplitRecord(ReadOnlySpan<byte> data, int pos, Span<Range> fields)
        {
            int field = 0;
            while (true)
            {
                int start = pos;
                if (data[pos] == (byte)'"')
                {
                    pos++;
                    while (true)
                    {
                        if (data[pos] != (byte)'"')
                        {
                            pos++;
                        }
                        else if (data[pos + 1] == (byte)'"')
                        {
                            pos += 2;
                        }
                        else
                        {
                            pos++;
                            break;
                        }
                    }
                }
                else
                {
                    pos += data[pos..].IndexOfAny((byte)',', (byte)'\n');
                }

                fields[field++] = start..pos;
                if (data[pos++] == (byte)'\n')
                {
                    return pos;
                }
            }
        }

        /// <summary>A field's value: unquoted, quotes undoubled, trimmed.</summary>
        private static string Value(ReadOnlySpan<byte> data, Range range)
        {
            ReadOnlySpan<byte> field = data[range];
            if (field.Length >= 2 && field[0] == (byte)'"')
            {
                return Encoding.UTF8.GetString(field[1..^1]).Replace("\"\"", "\"", StringComparison.Ordinal).Trim();
            }

            return Encoding.UTF8.GetString(field).Trim();
        }

        private void Add(ReadOnlySpan<byte> data, ReadOnlySpan<Range> f)
        {
            if (Territories.Count < TerritoryCount)
            {
                string territory = Value(data, f[Territory]);
                if (_territoryNames.Add(territory))
                {
                    Territories.Add((territory, Value(data, f[Region])));
                }
            }

            if (_dealers.Count < DealerCount)
            {
                string code = Value(data, f[DealerCode]);
                if (_dealerCodes.Add(code))
                {
                    _dealers.Add((code, Value(data, f[DealerName]), Value(data, f[Territory]), Value(data, f[Region])));
                }
            }

            if (Products.Count < ProductCount)
            {
                string code = Value(data, f[ProductCode]);
                if (_productCodes.Add(code))
                {
                    Products.Add(new ProductRow(code, Value(data, f[ProductName]), Value(data, f[Category]), Value(data, f[UnitPrice])));
                }
            }

            if (_salesmen.Count < SalesmanCount)
            {
                string code = Value(data, f[SalesmanCode]);
                if (code.Length > 0 && _salesmanCodes.Add(code))
                {
                    _salesmen.Add(code);
                }
            }
        }

        /// <summary>Adds what the invoices do not hold, drawn from the seed alone: dates, salesmen's names and territories.</summary>
        private void Finish(int seed)
        {
            var rng = new Xoshiro256StarStar(unchecked((ulong)(uint)seed * 0xD1B54A32D192ED03UL + 0x632BE59BD9B4E019UL));
            int firstOnboarding = new DateOnly(2010, 1, 1).DayNumber;
            int onboardingDays = new DateOnly(2024, 12, 31).DayNumber - firstOnboarding + 1;
            foreach ((string code, string name, string territory, string region) in _dealers)
            {
                Dealers.Add(new DealerRow(code, name, territory, region, DateOnly.FromDayNumber(firstOnboarding + rng.Next(onboardingDays))));
            }

            int firstJoining = new DateOnly(2012, 1, 1).DayNumber;
            int joiningDays = new DateOnly(2024, 12, 31).DayNumber - firstJoining + 1;
            foreach (string code in _salesmen)
            {
                string name = $"{FirstNames[rng.Next(FirstNames.Length)]} {Surnames[rng.Next(Surnames.Length)]}";
                string territory = Territories.Count == 0 ? "" : Territories[rng.Next(Territories.Count)].Territory;
                Salesmen.Add(new SalesmanRow(code, name, territory, DateOnly.FromDayNumber(firstJoining + rng.Next(joiningDays))));
            }
        }
    }
}
