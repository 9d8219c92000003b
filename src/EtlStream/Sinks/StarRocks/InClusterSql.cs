using System.Globalization;
using System.Text;
using EtlStream.Tables;

namespace EtlStream.Sinks.StarRocks;

/// <summary>What a spec asks that the cluster cannot do (<see cref="Problems"/>), and where its own behaviour stands in (<see cref="Notes"/>).</summary>
internal sealed record InClusterSpecCheck(IReadOnlyList<string> Problems, IReadOnlyList<string> Notes);

/// <summary>The values a statement stamps that do not come from the file: its name, the run's load date, the tenant.</summary>
internal readonly record struct InClusterStamps(string SourceFileName, DateOnly LoadDate, string TenantId);

/// <summary>One file's statement: <see cref="Sql"/> carries the credentials, <see cref="Shown"/> has them as <c>***</c>.</summary>
internal sealed record InClusterStatement(string Sql, string Shown);

/// <summary>
/// Compiles a table spec into one <c>INSERT INTO db.t WITH LABEL l (cols) SELECT … FROM FILES(…) WHERE …</c> per
/// source file, for StarRocks 3.3+ (CSV in <c>FILES()</c>). CSV fields are positional (<c>$1..$n</c>), so each file's
/// header decides the positions. Only functions MySQL/MariaDB share with StarRocks are used (trim, nullif, upper,
/// concat, CASE, str_to_date, date_format, coalesce, CAST … AS SIGNED/DECIMAL/DOUBLE): the protocol test server runs
/// the same SELECT on MariaDB. Typed values are inserted as text so that the target column's conversion, which
/// StarRocks' strict INSERT (<c>enable_insert_strict</c>, on by default) fails on, is what checks them — an explicit
/// CAST in the SELECT would turn a bad value into NULL silently.
/// Literals come from the spec and the listing, never from file content, and are escaped.
/// </summary>
internal static class InClusterSql
{
    /// <summary>Every feature of <paramref name="spec"/> the cluster cannot do, and the substitutes it makes for the others.</summary>
    public static InClusterSpecCheck Check(TableSpec spec)
    {
        var problems = new List<string>();
        var notes = new List<string>
        {
            "values: a value that does not convert to its column fails the file's INSERT (StarRocks enable_insert_strict, on by default) instead of going to a rejects file",
            "trim: removes spaces only (the streaming path also removes tabs); an empty quoted field (\"\") is NULL like an empty one",
        };
        if (spec.OnError == OnError.NullValue)
        {
            problems.Add("on_error: null_value (the cluster cannot store NULL for a value that fails to convert)");
        }
        else if (spec.MaxRejectRatio > 0)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"max_reject_ratio: {spec.MaxRejectRatio} (a strict INSERT fails on the first bad row; a share of rejects cannot be allowed)"));
        }

        if (spec.SchemaDrift == SchemaDrift.Evolve)
        {
            problems.Add("schema_drift: evolve (new source columns cannot be added by the cluster's INSERT)");
        }

        if (!spec.Csv.HasHeader)
        {
            problems.Add("csv.header: false (columns are found by their header names)");
        }

        if (spec.InferColumns)
        {
            problems.Add("a spec without columns (the SELECT is compiled from declared columns)");
        }

        if (spec.Csv.Encoding != Formats.Csv.CsvEncoding.Utf8)
        {
            problems.Add("csv.encoding other than utf-8 (FILES() reads UTF-8)");
        }

        if (spec.Csv.MaxColumns < 1 || spec.Csv.Delimiter is (byte)'"' or (byte)'\n')
        {
            problems.Add("csv.delimiter: not usable as csv.column_separator");
        }

        if (spec.Decompression is not null)
        {
            notes.Add("decompression: limits are not applied by the cluster");
        }

        var byName = spec.Columns.ToDictionary(c => c.Name, StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < spec.Columns.Count; i++)
        {
            var c = spec.Columns[i];
            var at = $"columns[{i}] {c.Name}";
            var r = c.Rules;
            if (r.AcceptedValues is not null)
            {
                problems.Add($"{at}: rules.accepted_values (per-value validation messages)");
            }

            if (r.RangeMin is not null || r.RangeMax is not null)
            {
                problems.Add($"{at}: rules.range (per-value validation messages)");
            }

            if (r.Regex is not null)
            {
                problems.Add($"{at}: rules.regex (per-value validation messages)");
            }

            if (r.MaxLength is not null)
            {
                problems.Add($"{at}: rules.max_length (per-value validation messages)");
            }

            if (r.Unique)
            {
                problems.Add($"{at}: rules.unique (uniqueness across the files of a load)");
            }

            if (c.Overflow != Overflow.Reject)
            {
                problems.Add($"{at}: overflow: {c.Overflow.ToString().ToLowerInvariant()} (a longer value fails the INSERT; lengths are not changed)");
            }

            if (c.Type.Kind is ColumnKind.Date or ColumnKind.Timestamp && DateFormat(FormatOf(c), out _) is null)
            {
                problems.Add($"{at}: format '{FormatOf(c)}' (only yyyy MM dd HH mm ss f… translate to str_to_date)");
            }

            if (c.Type.Kind == ColumnKind.Timestamp)
            {
                notes.Add($"{c.Name}: fractional seconds are read only where the format has them (the streaming path accepts them after ss always)");
            }

            if (c.Computed is ConcatSpec concat)
            {
                foreach (var part in concat.Parts)
                {
                    if (part.Column is { } name && (!byName.TryGetValue(name, out var source) || source.Computed is not null))
                    {
                        problems.Add($"{at}: computed concat of '{name}', which is not a column read from the file");
                    }
                }
            }
        }

        for (var i = 0; i < spec.Filters.Count; i++)
        {
            var f = spec.Filters[i];
            if (f.Op != FilterOp.NotNull && byName.TryGetValue(f.Column, out var c) && c.Type.Kind == ColumnKind.Bool)
            {
                problems.Add($"filter[{i}]: comparison on bool column '{f.Column}'");
            }
        }

        if (spec.Filters.Count > 0)
        {
            notes.Add("filter: a filtered column's value that does not convert drops its row on the cluster (the streaming path rejects it)");
        }

        return new InClusterSpecCheck(problems, notes);
    }

    /// <summary>
    /// The statement loading one file whose header is <paramref name="header"/> (<paramref name="crlf"/>: its lines end in
    /// CR LF). A header lacking a column the spec reads (and does not mark optional), or differing at all under
    /// <c>schema_drift: strict</c>, throws with the reason.
    /// </summary>
    public static InClusterStatement Insert(
        TableSpec spec, string database, string table, string label, IReadOnlyList<string> header, string path, IReadOnlyList<FilesProperty> credentials, InClusterStamps stamps,
        bool crlf = false)
    {
        var positions = Positions(spec, header);
        var select = new StringBuilder();
        for (var i = 0; i < spec.Columns.Count; i++)
        {
            select.Append(i == 0 ? "" : ", ").Append(Value(spec, spec.Columns[i], positions, stamps));
        }

        var where = new List<string>();
        foreach (var f in spec.Filters)
        {
            where.Add(Filter(spec, f, positions));
        }

        var head = new StringBuilder();
        head.Append("INSERT INTO ").Append(StarRocksSql.Quote(database)).Append('.').Append(StarRocksSql.Quote(table))
            .Append(" WITH LABEL ").Append(StreamLoadLabel.IsValid(label) && !label.Contains('-', StringComparison.Ordinal) ? label : throw new ArgumentException($"label '{label}'", nameof(label)))
            .Append(" (").AppendJoin(", ", spec.Columns.Select(c => StarRocksSql.Quote(c.Name))).Append(")\nSELECT ").Append(select).Append("\nFROM FILES(");
        var tail = where.Count == 0 ? ")" : ")\nWHERE " + string.Join(" AND ", where);
        var properties = new List<FilesProperty>
        {
            new("path", path),
            new("format", "csv"),
            new("csv.skip_header", "1"),
            new("csv.column_separator", ((char)spec.Csv.Delimiter).ToString()),
            new("csv.enclose", ((char)spec.Csv.Quote).ToString()),
        };
        if (crlf)
        {
            // The streaming parser ends a record at CR LF; with the default LF the last field would keep the CR.
            properties.Add(new("csv.row_delimiter", "\r\n"));
        }

        properties.AddRange(credentials);
        return new InClusterStatement(
            head + string.Join(", ", properties.Select(p => $"{Property(p.Key)} = {Property(p.Value)}")) + tail,
            head + string.Join(", ", properties.Select(p => $"{Property(p.Key)} = {(p.Secret ? "\"***\"" : Property(p.Value))}")) + tail);
    }

    /// <summary>The 1-based field position of each column the spec reads, by header name (trimmed, any case, the first of duplicates); 0 for an optional column the file lacks.</summary>
    private static Dictionary<string, int> Positions(TableSpec spec, IReadOnlyList<string> header)
    {
        var index = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = header.Count - 1; i >= 0; i--)
        {
            index[header[i].Trim()] = i + 1;
        }

        var positions = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var missing = new List<string>();
        foreach (var c in spec.Columns.Where(c => c.Computed is null))
        {
            if (index.TryGetValue(c.SourceName, out var p))
            {
                positions[c.Name] = p;
            }
            else if (c.Optional)
            {
                positions[c.Name] = 0;
            }
            else
            {
                missing.Add(c.SourceName);
            }
        }

        if (missing.Count > 0)
        {
            throw new InvalidDataException($"the header has no column {string.Join(", ", missing.Select(m => $"'{m}'"))} (header: {string.Join(",", header)})");
        }

        if (spec.SchemaDrift == SchemaDrift.Strict)
        {
            var wanted = spec.Columns.Where(c => c.Computed is null).Select(c => c.SourceName).ToList();
            if (!header.Select(h => h.Trim()).SequenceEqual(wanted, StringComparer.Ordinal))
            {
                throw new InvalidDataException($"schema_drift: strict: the header differs from the spec (header: {string.Join(",", header)}; spec: {string.Join(",", wanted)})");
            }
        }

        return positions;
    }

    /// <summary>The field as the file gives it: NULL where the raw (untrimmed) field is one of the file's null tokens.</summary>
    private static string Field(TableSpec spec, int position)
    {
        var raw = "$" + position.ToString(CultureInfo.InvariantCulture);
        var tokens = spec.Csv.NullTokens;
        return tokens.Count switch
        {
            0 => raw,
            1 when tokens[0].Length == 0 => $"nullif({raw}, '')",
            _ => $"CASE WHEN {raw} IN ({string.Join(", ", tokens.Select(Literal))}) THEN NULL ELSE {raw} END",
        };
    }

    /// <summary>A column's text: the field, trimmed when the column trims, NULL for its own null tokens; typed columns are always trimmed before conversion.</summary>
    private static string Text(TableSpec spec, ColumnSpec c, Dictionary<string, int> positions)
    {
        var position = positions[c.Name];
        if (position == 0)
        {
            return "NULL";
        }

        var text = Field(spec, position);
        if (c.Trim)
        {
            text = $"trim({text})";
        }

        if (c.NullTokens.Count > 0)
        {
            text = $"CASE WHEN {text} IN ({string.Join(", ", c.NullTokens.Select(Literal))}) THEN NULL ELSE {text} END";
        }

        return c.Type.Kind == ColumnKind.String || c.Trim ? text : $"trim({text})";
    }

    private static string Value(TableSpec spec, ColumnSpec c, Dictionary<string, int> positions, InClusterStamps stamps)
    {
        switch (c.Computed)
        {
            case ConcatSpec concat:
                // NULL when any column is NULL (the file's NULL, before the column's own tokens), like concat() itself.
                var parts = new List<string>();
                foreach (var part in concat.Parts)
                {
                    if (parts.Count > 0 && concat.Separator.Length > 0)
                    {
                        parts.Add(Literal(concat.Separator));
                    }

                    if (part.Column is { } name)
                    {
                        var source = spec.Columns.First(x => x.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
                        var position = positions[source.Name];
                        parts.Add(position == 0 ? "NULL" : source.Trim ? $"trim({Field(spec, position)})" : Field(spec, position));
                    }
                    else
                    {
                        parts.Add(Literal(part.Literal ?? ""));
                    }
                }

                return $"concat({string.Join(", ", parts)})";
            case SourceFileSpec:
                return Literal(stamps.SourceFileName);
            case TenantSpec:
                return Literal(stamps.TenantId);
            case LoadDateSpec:
                return Literal(stamps.LoadDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            case ConstantSpec constant:
                return Literal(constant.Value);
            case null:
                break;
            default:
                throw new NotSupportedException($"computed column '{c.Name}'");
        }

        var text = Text(spec, c, positions);
        switch (c.Type.Kind)
        {
            case ColumnKind.Bool:
                // An unknown token becomes '?token', which no BOOLEAN conversion takes: the INSERT fails on it.
                var t = c.TrueTokens ?? ["true", "t", "1", "y", "yes"];
                var f = c.FalseTokens ?? ["false", "f", "0", "n", "no"];
                return $"CASE WHEN upper({text}) IN ({string.Join(", ", t.Select(x => Literal(x.ToUpperInvariant())))}) THEN '1' " +
                       $"WHEN upper({text}) IN ({string.Join(", ", f.Select(x => Literal(x.ToUpperInvariant())))}) THEN '0' ELSE concat('?', {text}) END";
            case ColumnKind.Date or ColumnKind.Timestamp:
                // str_to_date gives NULL for a value off the format; '?value' then fails the column's conversion.
                var format = DateFormat(FormatOf(c), out var fraction)!;
                var iso = c.Type.Kind == ColumnKind.Date ? "%Y-%m-%d" : fraction ? "%Y-%m-%d %H:%i:%s.%f" : "%Y-%m-%d %H:%i:%s";
                return $"coalesce(date_format(str_to_date({text}, {Literal(format)}), {Literal(iso)}), concat('?', {text}))";
            default:
                return text;
        }
    }

    private static string Filter(TableSpec spec, FilterSpec f, Dictionary<string, int> positions)
    {
        var c = spec.Columns.First(x => x.Name.Equals(f.Column, StringComparison.OrdinalIgnoreCase));
        var text = Text(spec, c, positions);
        var typed = c.Type.Kind switch
        {
            ColumnKind.Int8 or ColumnKind.Int16 or ColumnKind.Int32 or ColumnKind.Int64 => $"CAST({text} AS SIGNED)",
            ColumnKind.Decimal => string.Create(CultureInfo.InvariantCulture, $"CAST({text} AS DECIMAL({c.Type.Precision},{c.Type.Scale}))"),
            ColumnKind.Float64 => $"CAST({text} AS DOUBLE)",
            ColumnKind.Date or ColumnKind.Timestamp => $"str_to_date({text}, {Literal(DateFormat(FormatOf(c), out _)!)})",
            _ => text,
        };
        if (f.Op == FilterOp.NotNull)
        {
            return $"{typed} IS NOT NULL";
        }

        var values = f.Values.Select(v => TypedLiteral(c, v)).ToList();
        return f.Op switch
        {
            FilterOp.In => $"{typed} IN ({string.Join(", ", values)})",
            FilterOp.Equal => $"{typed} = {values[0]}",
            FilterOp.NotEqual => $"{typed} <> {values[0]}",
            FilterOp.Less => $"{typed} < {values[0]}",
            FilterOp.LessOrEqual => $"{typed} <= {values[0]}",
            FilterOp.Greater => $"{typed} > {values[0]}",
            FilterOp.GreaterOrEqual => $"{typed} >= {values[0]}",
            _ => throw new NotSupportedException($"filter op {f.Op}"),
        };
    }

    /// <summary>A filter value as a literal of the column's type: numbers re-printed (never spliced), dates as ISO text.</summary>
    private static string TypedLiteral(ColumnSpec c, string value)
    {
        var v = value.Trim();
        switch (c.Type.Kind)
        {
            case ColumnKind.Int8 or ColumnKind.Int16 or ColumnKind.Int32 or ColumnKind.Int64:
                return long.Parse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
            case ColumnKind.Decimal or ColumnKind.Float64:
                return decimal.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
            case ColumnKind.Date:
                return Literal(DateTime.ParseExact(v, FormatOf(c), CultureInfo.InvariantCulture).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            case ColumnKind.Timestamp:
                return Literal(DateTime.ParseExact(v, FormatOf(c), CultureInfo.InvariantCulture).ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture));
            default:
                return Literal(value);
        }
    }

    private static string FormatOf(ColumnSpec c) =>
        c.Format ?? (c.Type.Kind == ColumnKind.Date ? Transforms.ValueParsers.DefaultDateFormat : Transforms.ValueParsers.DefaultTimestampFormat);

    /// <summary>A spec date pattern as a str_to_date format (<c>dd-MM-yyyy</c> → <c>%d-%m-%Y</c>), or null when it has a token SQL lacks.</summary>
    internal static string? DateFormat(string pattern, out bool fraction)
    {
        fraction = false;
        var sb = new StringBuilder();
        for (var i = 0; i < pattern.Length;)
        {
            var ch = pattern[i];
            var run = 1;
            while (i + run < pattern.Length && pattern[i + run] == ch)
            {
                run++;
            }

            switch (ch, run)
            {
                case ('y', 4): sb.Append("%Y"); break;
                case ('M', 2): sb.Append("%m"); break;
                case ('d', 2): sb.Append("%d"); break;
                case ('H', 2): sb.Append("%H"); break;
                case ('m', 2): sb.Append("%i"); break;
                case ('s', 2): sb.Append("%s"); break;
                case ('f', _): sb.Append("%f"); fraction = true; break;
                case ('%', _): sb.Append('%', 2 * run); break;
                default:
                    if (char.IsAsciiLetter(ch) || ch is '\'' or '\\')
                    {
                        return null;
                    }

                    sb.Append(ch, run);
                    break;
            }

            i += run;
        }

        return sb.ToString();
    }

    /// <summary>A SQL string literal: backslashes and quotes escaped (StarRocks and MySQL both read backslash escapes).</summary>
    internal static string Literal(string value) => "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";

    /// <summary>A FILES() property key or value in double quotes, with backslash escapes (line breaks and tabs shown as <c>\r \n \t</c>).</summary>
    private static string Property(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
        .Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal) + "\"";
}
