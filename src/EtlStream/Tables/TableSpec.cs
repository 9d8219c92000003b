using EtlStream.Formats.Csv;

namespace EtlStream.Tables;

/// <summary>A target table: its columns in output order, how each is read from the source, and row filters.</summary>
public sealed record TableSpec
{
    public required string Name { get; init; }

    public required IReadOnlyList<ColumnSpec> Columns { get; init; }

    /// <summary>Rows are kept when every filter holds.</summary>
    public IReadOnlyList<FilterSpec> Filters { get; init; } = [];

    /// <summary>
    /// The input format's kind (<c>format:</c>, <c>--format</c>); null: each entry's format is recognised from its
    /// first bytes (see <see cref="Formats.InputFormats"/>), CSV when none is.
    /// </summary>
    public string? Format { get; init; }

    public CsvOptions Csv { get; init; } = CsvOptions.Default;

    /// <summary>How JSON input is read (<c>json:</c>); see <see cref="Formats.Json.JsonOptions"/>.</summary>
    public Formats.Json.JsonOptions Json { get; init; } = Formats.Json.JsonOptions.Default;

    /// <summary>What a value that does not fit its column does to its row.</summary>
    public OnError OnError { get; init; } = OnError.RejectRow;

    /// <summary>What a file whose header differs from the spec does: fail (<c>strict</c>) or load with a warning (<c>ignore_new</c>).</summary>
    public SchemaDrift SchemaDrift { get; init; } = SchemaDrift.IgnoreNew;

    /// <summary>The share of a file's rows that may be rejected before the file fails (0: any reject fails it).</summary>
    public double MaxRejectRatio { get; init; }

    /// <summary>The columns that identify a row, for merge loads (incremental dimensions).</summary>
    public IReadOnlyList<string> Key { get; init; } = [];

    /// <summary>Decompression bomb limits for this table's files (<c>decompression:</c>); null: the load's own.</summary>
    public Compression.DecompressionLimits? Decompression { get; init; }

    /// <summary>
    /// The spec with every column a nullable string named and sourced from <paramref name="header"/>, by its unique
    /// names (<see cref="CsvHeader"/>): an empty or repeated header is a column of its own, never another's values.
    /// </summary>
    public static TableSpec AllStrings(string name, IReadOnlyList<string> header) =>
        new TableSpec { Name = name, Columns = [], InferColumns = true }.WithColumnsFrom(header, "the header");

    /// <summary>
    /// The spec has no <c>columns:</c> (or there is no spec): every header becomes a nullable string column when the
    /// first file is read (<see cref="WithColumnsFrom"/>); <see cref="Columns"/> holds only columns added to it, such
    /// as a tenant's computed ones, which follow the header's.
    /// </summary>
    public bool InferColumns { get; init; }

    /// <summary>With <see cref="InferColumns"/>: the spec's <c>trim: true</c>, applied to every inferred column.</summary>
    public bool TrimInferred { get; init; }

    /// <summary>The spec file this came from, to name in errors found when the columns are inferred; null without one.</summary>
    public string? File { get; init; }

    /// <summary>
    /// The spec with every field of <paramref name="header"/> a nullable string column, by its unique name
    /// (<see cref="CsvHeader"/>): an empty or repeated header is a column of its own, never another's values. Filters
    /// and the key are checked against those names here, as the spec reader could not; every problem is listed.
    /// </summary>
    /// <param name="types">The type of each header field when the format has them (Parquet, Arrow); a field without one, and every field without them, is a string.</param>
    public TableSpec WithColumnsFrom(IReadOnlyList<string> header, string headerSource, IReadOnlyList<ColumnType?>? types = null)
    {
        var names = CsvHeader.Resolve(header).Names;
        var columns = new List<ColumnSpec>(names.Count + Columns.Count);
        var byName = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var errors = new List<string>();
        var prefix = File is null ? "" : $"{File}: ";
        for (var i = 0; i < names.Count; i++)
        {
            var name = names[i];
            var type = types is not null && i < types.Count && types[i] is { } typed ? typed : ColumnType.String;
            columns.Add(new ColumnSpec { Name = name, Type = type, Trim = TrimInferred && type.Kind == ColumnKind.String });
            byName.Add(name);
        }

        foreach (var c in Columns)
        {
            if (!byName.Add(c.Name))
            {
                errors.Add($"{prefix}column '{PrintableText.Escape(c.Name)}' is also a header of {headerSource}");
            }

            columns.Add(c);
        }

        var listed = string.Join(", ", names.Select(PrintableText.Escape));
        for (var i = 0; i < Filters.Count; i++)
        {
            if (!byName.Contains(Filters[i].Column))
            {
                errors.Add($"{prefix}filter[{i}].column: unknown column '{PrintableText.Escape(Filters[i].Column)}': the columns are read from {headerSource}, which has: {listed}");
            }
        }

        foreach (var k in Key)
        {
            if (!byName.Contains(k))
            {
                errors.Add($"{prefix}key: unknown column '{PrintableText.Escape(k)}': the columns are read from {headerSource}, which has: {listed}");
            }
        }

        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        return this with { Columns = columns, InferColumns = false };
    }
}

public sealed record ColumnSpec
{
    public required string Name { get; init; }

    public required ColumnType Type { get; init; }

    public bool Nullable { get; init; } = true;

    /// <summary>The source header this column reads (case-insensitive); null means the column's own name.</summary>
    public string? Source { get; init; }

    /// <summary>Strip leading and trailing white space before anything else.</summary>
    public bool Trim { get; init; }

    /// <summary>A date/timestamp pattern such as <c>dd-MM-yyyy</c> or <c>yyyy-MM-dd HH:mm:ss</c>.</summary>
    public string? Format { get; init; }

    public IReadOnlyList<string>? TrueTokens { get; init; }

    public IReadOnlyList<string>? FalseTokens { get; init; }

    /// <summary>Values read as NULL for this column, on top of the file's null tokens (compared after trimming).</summary>
    public IReadOnlyList<string> NullTokens { get; init; } = [];

    public ComputedSpec? Computed { get; init; }

    /// <summary>A column some files may lack (added by <c>schema_drift: evolve</c>): NULL where the header has no such column.</summary>
    public bool Optional { get; init; }

    /// <summary>Declared checks a value must pass, on top of its type; a failing row follows the table's <c>on_error</c>.</summary>
    public ColumnRules Rules { get; init; } = ColumnRules.None;

    /// <summary>A string longer than its varchar length: reject the row (default), truncate it to the length, or widen (keep it).</summary>
    public Overflow Overflow { get; init; } = Overflow.Reject;

    public string SourceName => Source ?? Name;
}

/// <summary>A column that is not read from the source but computed per row.</summary>
public abstract record ComputedSpec;

/// <summary>Values of other columns (by output name, as text after trimming) and literals joined by a separator; NULL if any column is NULL.</summary>
internal sealed record ConcatSpec(IReadOnlyList<ConcatPart> Parts, string Separator) : ComputedSpec;

internal readonly record struct ConcatPart(string? Column, string? Literal);

/// <summary>The source object's file name.</summary>
internal sealed record SourceFileSpec : ComputedSpec;

/// <summary>The run's load date.</summary>
internal sealed record LoadDateSpec : ComputedSpec;

/// <summary>The tenant the run loads for: stamped by the engine, never read from the file.</summary>
internal sealed record TenantSpec : ComputedSpec;

internal sealed record ConstantSpec(string Value) : ComputedSpec;

/// <summary>Per-column checks: <c>accepted_values</c>, <c>range</c> (inclusive, on the typed value), <c>regex</c>, <c>max_length</c> (characters), <c>unique</c> within the load.</summary>
public sealed record ColumnRules
{
    public static readonly ColumnRules None = new();

    public IReadOnlyList<string>? AcceptedValues { get; init; }

    public string? RangeMin { get; init; }

    public string? RangeMax { get; init; }

    public string? Regex { get; init; }

    public int? MaxLength { get; init; }

    public bool Unique { get; init; }

    public bool Any => AcceptedValues is not null || RangeMin is not null || RangeMax is not null || Regex is not null || MaxLength is not null || Unique;
}

public enum Overflow
{
    Reject,
    Truncate,

    /// <summary>Keep the longer value: the target column must take it (DuckDB and Parquet strings have no length; sinks with lengths widen).</summary>
    Widen,
}

public enum SchemaDrift
{
    /// <summary>New source columns are ignored and reported as a warning, like reorders and case changes (columns bind by name).</summary>
    IgnoreNew,

    /// <summary>Any difference between the header and the spec fails the file: new, reordered or renamed-case columns.</summary>
    Strict,

    /// <summary>New source columns become nullable string columns of the table (added to an existing table by the sink); files without them load NULL.</summary>
    Evolve,
}

public enum OnError
{
    /// <summary>The row goes to the rejects output instead of the table (the default).</summary>
    RejectRow,

    /// <summary>The first bad value fails the file, naming file, line, field and value.</summary>
    FailFile,

    /// <summary>A value that fails to convert becomes NULL (a NOT NULL column still rejects the row).</summary>
    NullValue,
}

public enum FilterOp
{
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    In,
    NotNull,
}

/// <summary>A row filter on an output column, compared on the typed value: <c>qty != 0</c>, <c>region in [...]</c>, <c>x not null</c>.</summary>
public sealed record FilterSpec(string Column, FilterOp Op, IReadOnlyList<string> Values);
