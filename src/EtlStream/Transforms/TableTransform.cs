using EtlStream.Formats;
using System.Buffers;
using Apache.Arrow;
using EtlStream.Formats.Csv;
using EtlStream.Memory;
using EtlStream.Tables;

namespace EtlStream.Transforms;

/// <summary>
/// Turns parsed CSV batches into the table's typed Arrow batches: binds spec columns to a file's header by
/// name, filters rows, then casts, trims and computes every output column for the kept rows only.
/// </summary>
public sealed class TableTransform
{
    private readonly TableSpec _spec;
    private readonly int _loadDateDays;
    private readonly string _tenantId;

    // "unique within the load": one set per column for every file the load binds.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, UniqueKeySet> _uniqueSeen = new(StringComparer.OrdinalIgnoreCase);
    private readonly long _uniqueKeyBytes;

    /// <param name="uniqueKeyBytes">Bytes each <c>unique</c> column's key set may take (0: a quarter of the default memory budget).</param>
    public TableTransform(TableSpec spec, DateOnly loadDate, string tenantId = "", long uniqueKeyBytes = 0)
    {
        _uniqueKeyBytes = uniqueKeyBytes > 0 ? uniqueKeyBytes : Pipeline.LoadOptions.DefaultMemoryBudget / 4;
        _spec = spec;
        _tenantId = tenantId;
        _loadDateDays = loadDate.DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber;
        LoadDate = loadDate;
        var fields = new List<Field>();
        foreach (var c in spec.Columns)
        {
            var metadata = c.Type.MaxLength is { } n
                ? new Dictionary<string, string>
                {
                    [ArrowTypes.MaxLengthKey] = n.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    [ArrowTypes.OverflowKey] = c.Overflow.ToString().ToLowerInvariant(),
                }
                : null;
            var type = c.Computed is LoadDateSpec && c.Type.Kind == ColumnKind.String ? ColumnType.String : c.Type;
            fields.Add(new Field(c.Name, ArrowTypes.For(type), c.Nullable, metadata));
        }

        OutputSchema = new Apache.Arrow.Schema(fields, spec.SchemaDrift == SchemaDrift.Evolve ? new Dictionary<string, string> { [ArrowTypes.SchemaDriftKey] = "evolve" } : null);
    }

    public TableSpec Spec => _spec;

    public DateOnly LoadDate { get; }

    public Apache.Arrow.Schema OutputSchema { get; }

    /// <summary>
    /// Binds the spec to one file's header; fails naming every spec column the header lacks, and every column only
    /// case-insensitively matching headers that differ in case. The header's names are made unique first
    /// (<see cref="CsvHeader"/>), so duplicate and empty headers are columns of their own.
    /// </summary>
    public BoundTransform Bind(string source, IReadOnlyList<string> header)
    {
        var names = CsvHeader.Resolve(header);
        var sources = new Dictionary<string, SourceColumnReader>(StringComparer.OrdinalIgnoreCase);
        var byRawName = new Dictionary<int, string>();
        var byMadeName = new Dictionary<int, string>();
        var missing = new List<string>();
        var ambiguous = new List<string>();
        foreach (var c in _spec.Columns)
        {
            if (c.Computed is not null)
            {
                continue;
            }

            var i = Find(names, c.SourceName, out var made, out var clash);
            if (clash is not null)
            {
                ambiguous.Add($"'{PrintableText.Escape(c.SourceName)}' matches {clash} only by case (name one exactly{(c.Source is null ? " with source:" : "")})");
                continue;
            }

            if (i < 0)
            {
                if (c.Optional)
                {
                    continue; // read as NULL below
                }

                missing.Add(c.Source is null ? $"'{PrintableText.Escape(c.Name)}'" : $"'{PrintableText.Escape(c.Name)}' (source '{PrintableText.Escape(c.Source)}')");
                continue;
            }

            (made ? byMadeName : byRawName)[i] = c.Name;
            sources[c.Name] = CreateSourceReader(c, i, names.Names[i]);
        }

        // A made name (id_2) read by one spec column and the same field's own name by another: the file's
        // duplicates came in another order or case than where the spec's names came from, and one would be loaded twice.
        foreach (var (i, name) in byMadeName)
        {
            if (byRawName.TryGetValue(i, out var other))
            {
                ambiguous.Add($"'{PrintableText.Escape(name)}' and '{PrintableText.Escape(other)}' would both read column {i + 1} '{PrintableText.Escape(names.Raw[i])}' (its duplicate headers differ in order or case from the first file's; give them distinct names)");
            }
        }

        if (missing.Count > 0 || ambiguous.Count > 0)
        {
            var problems = new List<string>();
            if (missing.Count > 0)
            {
                problems.Add($"the header has no column for {string.Join(", ", missing)}");
            }

            problems.AddRange(ambiguous);
            throw new SourceSchemaException(source, $"{string.Join("; ", problems)}; it has: {Listed(names.Raw)}");
        }

        var drift = Drift(names);
        if (drift.Count > 0 && _spec.SchemaDrift == SchemaDrift.Strict)
        {
            throw new SourceSchemaException(source, $"schema drift (schema_drift: strict): {string.Join("; ", drift)}");
        }

        var readers = new ColumnReader[_spec.Columns.Count];
        for (var i = 0; i < readers.Length; i++)
        {
            var c = _spec.Columns[i];
            readers[i] = c.Computed switch
            {
                null when c.Optional && !sources.ContainsKey(c.Name) => new NullColumnReader(c),
                null => sources[c.Name],
                ConcatSpec concat => new ConcatColumnReader(c, concat, sources),
                SourceFileSpec => new ConstantTextColumnReader(c, null, x => x.SourceFileName),
                TenantSpec => new ConstantTextColumnReader(c, null, x => x.TenantId),
                ConstantSpec k => new ConstantTextColumnReader(c, k.Value),
                LoadDateSpec when c.Type.Kind == ColumnKind.String => new ConstantTextColumnReader(c, LoadDate.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)),
                LoadDateSpec => new LoadDateColumnReader(c),
                _ => throw new InvalidOperationException($"unknown computed column '{c.Name}'"),
            };
        }

        var filters = _spec.Filters.Select(f => RowFilter.Create(f, sources[f.Column])).ToArray();
        var checks = _spec.Columns.Where(c => c.Rules.Any && sources.ContainsKey(c.Name)).Select(c => new ColumnRuleCheck(sources[c.Name], c.Rules, _uniqueSeen.GetOrAdd(c.Name, _ => new UniqueKeySet(_uniqueKeyBytes)))).ToArray();
        return new BoundTransform(drift, names.Renamed, OutputSchema, readers, filters, new BatchContext(Path.GetFileName(source), _loadDateDays, _tenantId), _spec.OnError, _spec.Csv.Delimiter, checks);
    }

    /// <summary>
    /// The field a spec column reads: the header written exactly so (the first, if repeated), else the column of that
    /// unique name (<c>id_2</c>, <c>column3</c>; <paramref name="made"/>), else the one header equal ignoring case.
    /// Headers equal to it ignoring case that differ from each other are a clash: no guess is made between them.
    /// </summary>
    private static int Find(CsvHeader header, string name, out bool made, out string? clash)
    {
        made = false;
        clash = null;
        for (var i = 0; i < header.Count; i++)
        {
            if (string.Equals(header.Raw[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        for (var i = 0; i < header.Count; i++)
        {
            if (header.IsGenerated(i) && string.Equals(header.Names[i], name, StringComparison.Ordinal))
            {
                made = true;
                return i;
            }
        }

        var found = -1;
        for (var i = 0; i < header.Count; i++)
        {
            if (!string.Equals(header.Raw[i], name, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (found < 0)
            {
                found = i;
            }
            else if (!string.Equals(header.Raw[i], header.Raw[found], StringComparison.Ordinal))
            {
                clash = $"column {found + 1} '{PrintableText.Escape(header.Raw[found])}' and column {i + 1} '{PrintableText.Escape(header.Raw[i])}'";
                return -1;
            }
        }

        if (found >= 0)
        {
            return found;
        }

        for (var i = 0; i < header.Count; i++)
        {
            if (header.IsGenerated(i) && string.Equals(header.Names[i], name, StringComparison.OrdinalIgnoreCase))
            {
                made = true;
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// The fields of <paramref name="header"/> no column of <paramref name="columns"/> reads, and for each the source
    /// name that would read it: its header as written, or its unique name when an earlier field is written the same.
    /// </summary>
    internal static List<(int Index, string Source)> UnreadFields(IReadOnlyList<ColumnSpec> columns, CsvHeader header)
    {
        var unread = new List<(int, string)>();
        foreach (var i in Unread(columns, header))
        {
            unread.Add((i, Find(header, header.Raw[i], out _, out _) == i ? header.Raw[i] : header.Names[i]));
        }

        return unread;
    }

    private static List<int> Unread(IReadOnlyList<ColumnSpec> columns, CsvHeader header)
    {
        var read = new bool[header.Count];
        foreach (var c in columns)
        {
            if (c.Computed is null && Find(header, c.SourceName, out _, out _) is var i and >= 0)
            {
                read[i] = true;
            }
        }

        var unread = new List<int>();
        for (var i = 0; i < read.Length; i++)
        {
            if (!read[i])
            {
                unread.Add(i);
            }
        }

        return unread;
    }

    private static string Listed(IReadOnlyList<string> names)
    {
        var shown = new string[names.Count];
        for (var i = 0; i < shown.Length; i++)
        {
            shown[i] = names[i].Length == 0 ? "(empty)" : PrintableText.Escape(names[i]);
        }

        return string.Join(", ", shown);
    }

    /// <summary>How a header differs from the spec's source columns: new columns, case changes, another order.</summary>
    private List<string> Drift(CsvHeader header)
    {
        var drift = new List<string>();
        // Distinct: two spec columns may read one header (a raw and a trimmed copy); it is one place in the order.
        var wanted = _spec.Columns.Where(c => c.Computed is null).Select(c => c.SourceName).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var known = new HashSet<string>(wanted, StringComparer.OrdinalIgnoreCase);
        var added = Unread(_spec.Columns, header).Select(i => header.Names[i]).ToList();
        if (added.Count > 0)
        {
            drift.Add($"new columns {Listed(added)}");
        }

        // Case counts only where the spec names the exact header (source:); a column's own name matches any case.
        var exact = _spec.Columns.Where(c => c.Computed is null && c.Source is not null).Select(c => c.Source!).ToList();
        var renamed = header.Names
            .Where(h => !exact.Contains(h, StringComparer.Ordinal) && exact.Contains(h, StringComparer.OrdinalIgnoreCase))
            .Select(h => $"{PrintableText.Escape(exact.First(w => string.Equals(w, h, StringComparison.OrdinalIgnoreCase)))} is now {PrintableText.Escape(h)}")
            .ToList();
        if (renamed.Count > 0)
        {
            drift.Add($"renamed case: {string.Join(", ", renamed)}");
        }

        var order = header.Names.Where(known.Contains).ToList();
        var expected = wanted.Where(w => order.Contains(w, StringComparer.OrdinalIgnoreCase)).ToList();
        if (!order.SequenceEqual(expected, StringComparer.OrdinalIgnoreCase))
        {
            drift.Add($"reordered: {Listed(order)} (the spec reads {Listed(expected)})");
        }

        return drift;
    }

    private static SourceColumnReader CreateSourceReader(ColumnSpec c, int index, string header)
    {
        var t = c.Type;
        var type = ArrowTypes.For(t);
        return t.Kind switch
        {
            ColumnKind.String => new StringColumnReader(c, index, header),
            ColumnKind.Int8 => new PrimitiveColumnReader<sbyte, Int8Parser>(c, index, header, type, default),
            ColumnKind.Int16 => new PrimitiveColumnReader<short, Int16Parser>(c, index, header, type, default),
            ColumnKind.Int32 => new PrimitiveColumnReader<int, Int32Parser>(c, index, header, type, default),
            ColumnKind.Int64 => new PrimitiveColumnReader<long, Int64Parser>(c, index, header, type, default),
            ColumnKind.Decimal => new PrimitiveColumnReader<Int128, DecimalParser>(c, index, header, type, new DecimalParser(t.Precision, t.Scale)),
            ColumnKind.Float64 => new PrimitiveColumnReader<double, DoubleParser>(c, index, header, type, default),
            ColumnKind.Bool => new BoolColumnReader(c, index, header),
            ColumnKind.Date => new PrimitiveColumnReader<int, DateParser>(c, index, header, type, new DateParser(ValueParsers.PatternFor(c))),
            ColumnKind.Timestamp => new PrimitiveColumnReader<long, TimestampParser>(c, index, header, type, new TimestampParser(ValueParsers.PatternFor(c))),
            _ => throw new ArgumentOutOfRangeException(nameof(c), t.Kind, null),
        };
    }
}

/// <summary>A table transform bound to one file's header. Thread-safe: batches of a file may be transformed in parallel.</summary>
public sealed class BoundTransform
{
    private readonly Apache.Arrow.Schema _schema;
    private readonly ColumnReader[] _readers;
    private readonly RowFilter[] _filters;
    private readonly BatchContext _context;

    private readonly OnError _onError;
    private readonly byte _delimiter;

    private readonly ColumnRuleCheck[] _checks;

    /// <summary>How this file's header differs from the spec (loaded anyway under <c>ignore_new</c>: columns bind by name).</summary>
    public IReadOnlyList<string> Drift { get; }

    /// <summary>The header's empty, duplicate and case-colliding names and the unique names they were given (<see cref="CsvHeader.Renamed"/>).</summary>
    public IReadOnlyList<string> RenamedHeaders { get; }

    internal BoundTransform(IReadOnlyList<string> drift, IReadOnlyList<string> renamedHeaders, Apache.Arrow.Schema schema, ColumnReader[] readers, RowFilter[] filters, BatchContext context, OnError onError, byte delimiter, ColumnRuleCheck[] checks)
    {
        _checks = checks;
        Drift = drift;
        RenamedHeaders = renamedHeaders;
        _onError = onError;
        _delimiter = delimiter;
        _schema = schema;
        _readers = readers;
        _filters = filters;
        _context = context;
    }

    /// <param name="cancellationToken">Observed between rows where a row can take long (a backtracking regex rule).</param>
    public TransformedBatch Apply(TextBatch batch, CancellationToken cancellationToken = default)
    {
        var selection = ArrayPool<int>.Shared.Rent(Math.Max(batch.RowCount, 1));
        var memory = new BatchMemory();
        try
        {
            var rows = selection.AsSpan(0, batch.RowCount);
            for (var i = 0; i < rows.Length; i++)
            {
                rows[i] = i;
            }

            var errors = new RowErrors(_onError);
            var kept = batch.Broken.Count == 0 ? rows.Length : errors.RejectBroken(batch, rows);
            foreach (var f in _filters)
            {
                kept = f.Apply(batch, rows[..kept], errors);
            }

            foreach (var check in _checks)
            {
                check.Check(batch, rows[..kept], errors, cancellationToken);
            }

            var arrays = Read(batch, rows[..kept], memory, errors);
            if (errors.Count == 0)
            {
                return new TransformedBatch(new RecordBatch(_schema, arrays, kept), batch.RowCount, memory, []);
            }

            // Rare path: rows were rejected. Build the batch again without them; their values are not read twice.
            var good = 0;
            for (var i = 0; i < kept; i++)
            {
                if (!errors.IsRejected(rows[i]))
                {
                    rows[good++] = rows[i];
                }
            }

            memory.Dispose();
            memory = new BatchMemory();
            arrays = Read(batch, rows[..good], memory, new RowErrors(_onError));
            return new TransformedBatch(new RecordBatch(_schema, arrays, good), batch.RowCount, memory, errors.Materialize(batch, _delimiter));
        }
        catch
        {
            memory.Dispose();
            throw;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(selection);
        }
    }

    private IArrowArray[] Read(TextBatch batch, ReadOnlySpan<int> rows, BatchMemory memory, RowErrors errors)
    {
        var arrays = new IArrowArray[_readers.Length];
        for (var c = 0; c < arrays.Length; c++)
        {
            arrays[c] = _readers[c].Read(batch, rows, memory, _context, errors);
        }

        return arrays;
    }
}

/// <summary>A typed output batch and the pooled memory behind it; dispose once the sink has written it.</summary>
public sealed class TransformedBatch : IDisposable
{
    private readonly BatchMemory _memory;

    internal TransformedBatch(RecordBatch batch, int rowsIn, BatchMemory memory, IReadOnlyList<RejectedRow> rejected)
    {
        Batch = batch;
        RowsIn = rowsIn;
        Rejected = rejected;
        _memory = memory;
    }

    /// <summary>The rows of the source batch the table did not take, by the table's <c>on_error</c> policy.</summary>
    public IReadOnlyList<RejectedRow> Rejected { get; }

    public RecordBatch Batch { get; }

    /// <summary>Source records the batch was made from, before filtering.</summary>
    public int RowsIn { get; }

    /// <summary>The bytes of the pooled arrays behind the batch, as allocated: what it holds of the memory budget.</summary>
    internal long MemoryBytes => _memory.Bytes;

    public void Dispose()
    {
        Batch.Dispose();
        _memory.Dispose();
    }
}
