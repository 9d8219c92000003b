namespace EtlStream.Formats.Csv;

/// <summary>
/// A file's header with one unique column name per field, so that every field can be named in a table and bound
/// on its own. The rule (README, "Table specs"): names are trimmed; an empty name becomes <c>column&lt;n&gt;</c> (its
/// 1-based position, as in a file without a header); a name equal to an earlier one ignoring case becomes
/// <c>&lt;name&gt;_2</c>, <c>_3</c>… The first of equal names keeps its own. Names are unique ignoring case
/// because DuckDB, unquoted PostgreSQL and MySQL identifiers are.
/// </summary>
internal sealed class CsvHeader
{
    private CsvHeader(string[] raw, string[] names, bool[] generated, List<string> renamed)
    {
        Raw = raw;
        Names = names;
        _generated = generated;
        Renamed = renamed;
    }

    private readonly bool[] _generated;

    /// <summary>The header's names as written, trimmed.</summary>
    public IReadOnlyList<string> Raw { get; }

    /// <summary>The unique name of each column.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Each renamed column, e.g. <c>column 3 'id' → id_2 (duplicate of column 1)</c>, escaped for printing.</summary>
    public IReadOnlyList<string> Renamed { get; }

    public int Count => Names.Count;

    /// <summary>Whether column <paramref name="index"/>'s name was made here rather than read from the file.</summary>
    public bool IsGenerated(int index) => _generated[index];

    public static CsvHeader Resolve(IReadOnlyList<string> header)
    {
        var raw = new string[header.Count];
        var names = new string[header.Count];
        var generated = new bool[header.Count];
        var first = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < raw.Length; i++)
        {
            raw[i] = header[i].Trim();
            if (raw[i].Length > 0 && first.TryAdd(raw[i], i))
            {
                names[i] = raw[i];
            }
        }

        // Generated names avoid every name the file uses, so a later header cannot collide with one made earlier.
        var taken = new HashSet<string>(first.Keys, StringComparer.OrdinalIgnoreCase);
        var renamed = new List<string>();
        for (var i = 0; i < raw.Length; i++)
        {
            if (names[i] is not null)
            {
                continue;
            }

            var stem = raw[i].Length == 0 ? $"column{i + 1}" : raw[i];
            var name = stem;
            for (var n = 2; !taken.Add(name); n++)
            {
                name = $"{stem}_{n}";
            }

            names[i] = name;
            generated[i] = true;
            if (raw[i].Length == 0)
            {
                renamed.Add($"column {i + 1} (empty) → {PrintableText.Escape(name)}");
            }
            else
            {
                var j = first[raw[i]];
                var why = string.Equals(raw[j], raw[i], StringComparison.Ordinal)
                    ? $"duplicate of column {j + 1}"
                    : $"same as column {j + 1} '{PrintableText.Escape(raw[j])}' but for case";
                renamed.Add($"column {i + 1} '{PrintableText.Escape(raw[i])}' → {PrintableText.Escape(name)} ({why})");
            }
        }

        return new CsvHeader(raw, names, generated, renamed);
    }
}
