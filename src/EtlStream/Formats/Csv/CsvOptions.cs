namespace EtlStream.Formats.Csv;

/// <summary>How a CSV file is read. Defaults follow RFC 4180 with a header row and empty fields as NULL.</summary>
public sealed record CsvOptions
{
    public byte Delimiter { get; init; } = (byte)',';

    public byte Quote { get; init; } = (byte)'"';

    public bool HasHeader { get; init; } = true;

    /// <summary>Unquoted field texts read as NULL. A quoted field is never NULL: <c>""</c> is an empty string.</summary>
    public IReadOnlyList<string> NullTokens { get; init; } = [""];

    /// <summary>Rows per Arrow record batch at most; fewer when <see cref="BatchBytes"/> comes first.</summary>
    public int BatchRows { get; init; } = 64 * 1024;

    /// <summary>
    /// Arrow bytes per batch at most (values, offsets, validity, line numbers): the parser closes a batch before a
    /// record would take it past this, and a wide file gets fewer rows. A single record larger than this is a batch of
    /// one row. Not read from a spec: the pipeline sets it from the memory budget (<c>MemoryPlan</c>).
    /// </summary>
    public long BatchBytes { get; init; } = 32 * 1024 * 1024;

    /// <summary>The longest record (all its fields, in bytes) the parser will buffer before failing the file.</summary>
    public int MaxRecordBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>
    /// The most fields a record may have. Every column holds a batch's buffers, which <see cref="BatchBytes"/> shrinks
    /// for wide files; past this a header of a million commas is refused as the memory bomb it is.
    /// </summary>
    public int MaxColumns { get; init; } = 2048;

    public static CsvOptions Default { get; } = new();

    /// <summary>Every problem with these options, each with the option's name; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Delimiter is (byte)'\r' or (byte)'\n' || Delimiter == Quote)
        {
            errors.Add("csv.delimiter: must not be a line break or the quote character");
        }

        if (Quote is (byte)'\r' or (byte)'\n')
        {
            errors.Add("csv.quote: must not be a line break");
        }

        if (BatchRows is < 1 or > 16 * 1024 * 1024)
        {
            errors.Add($"csv.batch_rows: must be 1..16777216, got {BatchRows}");
        }

        if (BatchBytes < 1024)
        {
            errors.Add($"csv.batch_bytes: must be at least 1024, got {BatchBytes}");
        }

        if (MaxColumns is < 1 or > 65536)
        {
            errors.Add($"csv.max_columns: must be 1..65536, got {MaxColumns}");
        }

        if (MaxRecordBytes < 1024)
        {
            errors.Add($"csv.max_record_bytes: must be at least 1024, got {MaxRecordBytes}");
        }

        return errors;
    }
}
