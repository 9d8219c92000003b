namespace EtlStream.Sinks.Sql;

/// <summary>
/// How a live table differs from the columns the data needs, found before any row is loaded: the columns missing from
/// the table, the table's extra columns, each column whose type differs, and (only when the shared columns are in
/// another order) the two orders. Names compare case-insensitively, types as the dialect spells them. The sinks load
/// whole rows by position, so the order matters; but one added or renamed column is one difference, not one per column
/// after it.
/// </summary>
public sealed record TableDrift(IReadOnlyList<string> Differences, IReadOnlyList<SqlColumn> ColumnsToAdd)
{
    public bool IsNone => Differences.Count == 0 && ColumnsToAdd.Count == 0;

    /// <summary>
    /// Compares <paramref name="live"/> (as read from the catalog) with <paramref name="expected"/>. With
    /// <paramref name="evolve"/>, nullable columns the table lacks are not differences but columns to add, when they
    /// come after every column it has (an added column goes last).
    /// </summary>
    public static TableDrift Compare(IReadOnlyList<SqlColumn> expected, IReadOnlyList<SqlColumn> live, SqlDialect dialect, bool evolve)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(live);
        ArgumentNullException.ThrowIfNull(dialect);
        var liveByName = new Dictionary<string, SqlColumn>(StringComparer.OrdinalIgnoreCase);
        foreach (var column in live)
        {
            liveByName.TryAdd(column.Name, column);
        }

        var expectedNames = new HashSet<string>(expected.Select(c => c.Name), StringComparer.OrdinalIgnoreCase);
        var missing = expected.Where(c => !liveByName.ContainsKey(c.Name)).ToList();
        var extra = live.Where(c => !expectedNames.Contains(c.Name)).ToList();
        var differences = new List<string>();
        var add = new List<SqlColumn>();

        // The table is the data's first columns, and the rest are nullable: added at the end, rows still line up.
        var appendable = evolve && extra.Count == 0 && missing.All(c => c.Nullable)
            && live.Count <= expected.Count && live.Select((c, i) => string.Equals(c.Name, expected[i].Name, StringComparison.OrdinalIgnoreCase)).All(same => same);
        if (appendable)
        {
            add.AddRange(missing);
        }
        else if (missing.Count > 0)
        {
            differences.Add($"missing from the table: {Listed(missing)}");
        }

        if (extra.Count > 0)
        {
            differences.Add($"extra in the table: {Listed(extra)}");
        }

        foreach (var column in expected)
        {
            if (liveByName.TryGetValue(column.Name, out var had))
            {
                var liveType = dialect.NormalizeLiveType(had.Type);
                if (!string.Equals(liveType, column.Type, StringComparison.OrdinalIgnoreCase))
                {
                    differences.Add($"column \"{column.Name}\" is {liveType} in the table but {column.Type} in the data");
                }
            }
        }

        var sharedInTable = live.Where(c => expectedNames.Contains(c.Name)).Select(c => c.Name).ToList();
        var sharedInData = expected.Where(c => liveByName.ContainsKey(c.Name)).Select(c => c.Name).ToList();
        if (!sharedInTable.SequenceEqual(sharedInData, StringComparer.OrdinalIgnoreCase))
        {
            differences.Add($"the columns are in another order: the table has {Names(sharedInTable)}, the data {Names(sharedInData)}");
        }

        return new TableDrift(differences, add);
    }

    private static string Listed(IEnumerable<SqlColumn> columns) => string.Join(", ", columns.Select(c => $"\"{c.Name}\" {c.Type}"));

    private static string Names(IEnumerable<string> names) => string.Join(", ", names.Select(n => $"\"{n}\""));

    /// <summary>Every difference, in column order, separated by <c>; </c>.</summary>
    public string Describe() => string.Join("; ", Differences);
}

/// <summary>The live table does not match the data: nothing was loaded. <see cref="Drift"/> lists every difference.</summary>
public sealed class TableDriftException(string table, TableDrift drift)
    : InvalidOperationException($"{table} does not match the data: {drift.Describe()}. Use mode=replace to recreate it.")
{
    public TableDrift Drift { get; } = drift;
}
