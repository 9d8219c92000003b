namespace EtlStream.Sinks.Sql;

/// <summary>
/// How a live table differs from the columns the data needs, found before any row is loaded. Columns bind by
/// position (the sinks load whole rows in order), names compare case-insensitively, types as the dialect spells them.
/// </summary>
public sealed record TableDrift(IReadOnlyList<string> Differences, IReadOnlyList<SqlColumn> ColumnsToAdd)
{
    public bool IsNone => Differences.Count == 0 && ColumnsToAdd.Count == 0;

    /// <summary>
    /// Compares <paramref name="live"/> (as read from the catalog) with <paramref name="expected"/>. With
    /// <paramref name="evolve"/>, trailing nullable columns the table lacks are not differences but columns to add.
    /// </summary>
    public static TableDrift Compare(IReadOnlyList<SqlColumn> expected, IReadOnlyList<SqlColumn> live, SqlDialect dialect, bool evolve)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(live);
        ArgumentNullException.ThrowIfNull(dialect);
        var differences = new List<string>();
        var add = new List<SqlColumn>();
        var count = Math.Max(live.Count, expected.Count);
        for (var i = 0; i < count; i++)
        {
            if (i >= live.Count)
            {
                if (evolve && expected[i].Nullable)
                {
                    add.Add(expected[i]);
                }
                else
                {
                    differences.Add($"column {i + 1} \"{expected[i].Name}\" {expected[i].Type} is missing from the table (it has {live.Count} columns)");
                }

                continue;
            }

            if (i >= expected.Count)
            {
                differences.Add($"the table has an extra column {i + 1} \"{live[i].Name}\" {live[i].Type} (the data has {expected.Count} columns)");
                continue;
            }

            if (!string.Equals(live[i].Name, expected[i].Name, StringComparison.OrdinalIgnoreCase))
            {
                differences.Add($"column {i + 1} is \"{live[i].Name}\" in the table but \"{expected[i].Name}\" in the data");
                continue;
            }

            var liveType = dialect.NormalizeLiveType(live[i].Type);
            if (!string.Equals(liveType, expected[i].Type, StringComparison.OrdinalIgnoreCase))
            {
                differences.Add($"column \"{expected[i].Name}\" is {liveType} in the table but {expected[i].Type} in the data");
            }
        }

        return new TableDrift(differences, add);
    }

    /// <summary>Every difference, in column order, separated by <c>; </c>.</summary>
    public string Describe() => string.Join("; ", Differences);
}

/// <summary>The live table does not match the data: nothing was loaded. <see cref="Drift"/> lists every difference.</summary>
public sealed class TableDriftException(string table, TableDrift drift)
    : InvalidOperationException($"{table} does not match the data: {drift.Describe()}. Use mode=replace to recreate it.")
{
    public TableDrift Drift { get; } = drift;
}
