namespace EtlStream.Sinks.Sql;

/// <summary>What every server sink's options say about the table and the load; <see cref="SqlStagedSink"/> reads these.</summary>
internal interface ISqlSinkOptions
{
    /// <summary>Table name, unquoted (the sink quotes it).</summary>
    string Table { get; }

    SqlWriteMode Mode { get; }

    /// <summary>The merge key's columns (merge mode only).</summary>
    IReadOnlyList<string> Key { get; }

    /// <summary>Bulk loads running at once.</summary>
    int MaxConcurrency { get; }

    /// <summary>Rows per chunk handed to one bulk load.</summary>
    int ChunkRows { get; }

    /// <summary>Every problem with the options, each naming its option; empty when they are valid.</summary>
    IReadOnlyList<string> Validate();
}

/// <summary>The checks every <see cref="ISqlSinkOptions"/> shares, worded the same for each database.</summary>
internal static class SqlSinkOptions
{
    /// <summary>Adds the problems with the table, merge key, concurrency and chunk size, each named <c>&lt;prefix&gt;.&lt;option&gt;</c>.</summary>
    public static void AddLoadErrors(this ISqlSinkOptions options, string prefix, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(options.Table))
        {
            errors.Add($"{prefix}.table: required");
        }

        if (options.Mode == SqlWriteMode.Merge && options.Key.Count == 0)
        {
            errors.Add($"{prefix}.key: merge needs key columns");
        }

        if (options.MaxConcurrency is < 1 or > 64)
        {
            errors.Add($"{prefix}.concurrency: must be 1..64, got {options.MaxConcurrency}");
        }

        if (options.ChunkRows < 1)
        {
            errors.Add($"{prefix}.chunk_rows: must be positive, got {options.ChunkRows}");
        }
    }

    /// <summary>The options when they are valid; otherwise an <see cref="ArgumentException"/> listing every problem.</summary>
    public static T Checked<T>(T options)
        where T : ISqlSinkOptions
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        return errors.Count == 0 ? options : throw new ArgumentException(string.Join("; ", errors), nameof(options));
    }
}
