namespace EtlStream.Formats.Csv;

/// <summary>How a CSV file is read. Defaults follow RFC 4180 with a header row and empty fields as NULL.</summary>
public sealed record CsvOptions
{
    public byte Delimiter { get; init; } = (byte)',';

    public byte Quote { get; init; } = (byte)'"';

    public bool HasHeader { get; init; } = true;

    /// <summary>Unquoted field texts read as NULL. A quoted field is never NULL: <c>""</c> is an empty string.</summary>
    public IReadOnlyList<string> NullTokens { get; init; } = [""];

    /// <summary>Rows per Arrow record batch.</summary>
    public int BatchRows { get; init; } = 64 * 1024;

    /// <summary>The longest record (all its fields, in bytes) the parser will buffer before failing the file.</summary>
    public int MaxRecordBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>
    /// The most fields a record may have. Every column holds a batch's buffers (~330 KB at the default batch_rows),
    /// so a header of a million commas would otherwise be a memory bomb; lower batch_rows for very wide files.
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
