using System.Globalization;
using EtlStream.Formats.Csv;
using EtlStream.Transforms;
using YamlDotNet.RepresentationModel;

namespace EtlStream.Tables;

/// <summary>
/// Maps a table spec YAML file to a <see cref="TableSpec"/>. This is the only place YAML meets the spec:
/// unknown keys, unknown types and dangling references are all collected and reported together, each with
/// its path (<c>columns[3].type: unknown type 'intt'</c>).
/// </summary>
public static class TableSpecReader
{
    private static readonly string[] TableKeys = ["table", "format", "csv", "json", "trim", "columns", "filter", "key", "on_error", "max_reject_ratio", "schema_drift", "decompression"];
    private static readonly string[] DecompressionKeys = ["max_bytes", "max_ratio", "ratio_check_after"];
    private static readonly string[] CsvKeys = ["delimiter", "quote", "header", "encoding", "null", "batch_rows", "max_record_bytes", "max_columns"];
    private static readonly string[] ColumnKeys = ["name", "type", "nullable", "source", "trim", "format", "true", "false", "null", "computed", "rules", "overflow"];
    private static readonly string[] RuleKeys = ["accepted_values", "range", "regex", "max_length", "unique"];
    private static readonly string[] ComputedKeys = ["concat", "separator", "source_file", "load_date", "constant"];
    private static readonly string[] FilterKeys = ["column", "op", "value", "in", "not_null"];

    /// <param name="setting">Where the path came from (<c>--table</c>), named in the error when it is no file to read.</param>
    public static TableSpec ReadFile(string path, string setting = "table spec")
    {
        // A folder would otherwise say "access denied" and a FIFO would wait for a writer: say what the path is instead.
        if (Sinks.Csv.FileTargetKind.WhyNotReadable(path, setting, "a spec file") is { } why)
        {
            throw new ConfigException([why]);
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException([$"{path}: cannot read the table spec: {e.Message}"]);
        }

        return Read(text, path);
    }

    public static TableSpec Read(string yaml, string file)
    {
        var errors = new List<string>();
        var spec = Parse(yaml, file, errors);
        if (errors.Count > 0 || spec is null)
        {
            throw new ConfigException(errors);
        }

        return spec;
    }

    private static TableSpec? Parse(string yaml, string file, List<string> errors)
    {
        var node = YamlFile.LoadRoot(yaml, file, errors, out var failed);
        if (failed)
        {
            return null;
        }

        if (node is not YamlMappingNode root)
        {
            errors.Add($"{file}: a table spec is a mapping with 'table' (and 'columns', or every header is read as a string)");
            return null;
        }

        var r = new NodeReader(file, errors);
        r.CheckKeys(root, "", TableKeys);
        var name = r.RequiredString(root, "", "table");
        var trimAll = r.Bool(root, "", "trim") ?? false;
        var csv = ReadCsv(r, root);

        var columns = new List<ColumnSpec>();
        var columnPaths = new List<string>();
        if (r.Child(root, "columns") is YamlSequenceNode seq)
        {
            for (var i = 0; i < seq.Children.Count; i++)
            {
                var path = $"columns[{i}]";
                if (seq.Children[i] is not YamlMappingNode m)
                {
                    r.Error(path, "a column is a mapping with 'name' and 'type'");
                    continue;
                }

                if (ReadColumn(r, m, path, trimAll) is { } c)
                {
                    columns.Add(c);
                    columnPaths.Add(path);
                }
            }
        }
        else if (r.Child(root, "columns") is not null)
        {
            r.Error("columns", "a list of columns (or leave columns out to read every header as a nullable string)");
        }

        // Without columns, every header becomes a nullable string column when the first file is read; what refers to
        // a column (filters, key) is checked then, against that header.
        var infer = r.Child(root, "columns") is null;

        var filters = new List<FilterSpec>();
        switch (r.Child(root, "filter"))
        {
            case null:
                break;
            case YamlSequenceNode fseq:
                for (var i = 0; i < fseq.Children.Count; i++)
                {
                    if (ReadFilter(r, fseq.Children[i], $"filter[{i}]") is { } f)
                    {
                        filters.Add(f);
                    }
                }

                break;
            default:
                r.Error("filter", "a list of filters");
                break;
        }

        if (!infer)
        {
            CheckReferences(r, columns, columnPaths, filters);
        }

        var key = r.Strings(root, "", "key") ?? [];
        foreach (var k in infer ? [] : key)
        {
            if (!columns.Exists(c => string.Equals(c.Name, k, StringComparison.OrdinalIgnoreCase)))
            {
                r.Error("key", $"unknown column '{k}'");
            }
        }

        var onErrorText = r.String(root, "", "on_error") ?? "reject_row";
        OnError? onError = onErrorText switch { "reject_row" => OnError.RejectRow, "fail_file" => OnError.FailFile, "null_value" => OnError.NullValue, _ => null };
        if (onError is null)
        {
            r.Error("on_error", $"unknown policy '{onErrorText}' (expected reject_row, fail_file or null_value)");
        }

        var ratioText = r.String(root, "", "max_reject_ratio");
        var ratio = 0d;
        if (ratioText is not null && (!double.TryParse(ratioText, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out ratio) || ratio is < 0 or > 1))
        {
            r.Error("max_reject_ratio", $"expected a number from 0 to 1, got '{ratioText}'");
        }

        var driftText = r.String(root, "", "schema_drift") ?? "ignore_new";
        SchemaDrift? drift = driftText switch { "ignore_new" => SchemaDrift.IgnoreNew, "strict" => SchemaDrift.Strict, "evolve" => SchemaDrift.Evolve, _ => null };
        if (drift is null)
        {
            r.Error("schema_drift", $"unknown policy '{driftText}' (expected strict, ignore_new or evolve)");
        }

        var format = r.String(root, "", "format");
        if (format is not null && Formats.InputFormats.Find(format) is null)
        {
            r.Error("format", $"unknown format '{format}' (expected {Formats.InputFormats.Kinds}; without format: it is recognised from each file's content)");
        }

        var limits = ReadDecompression(r, root);
        var json = Formats.Json.JsonOptionsReader.Read(r, r.Child(root, "json"));
        return name is null ? null : new TableSpec { Name = name, Json = json, Format = format is null ? null : Formats.InputFormats.Find(format)?.Kind, Columns = columns, InferColumns = infer, TrimInferred = trimAll, File = file, Filters = filters, Csv = csv, Key = key, OnError = onError ?? OnError.RejectRow, MaxRejectRatio = ratio, SchemaDrift = drift ?? SchemaDrift.IgnoreNew, Decompression = limits };
    }

    /// <summary><c>decompression: { max_bytes, max_ratio, ratio_check_after }</c>: the bomb limits for this table's files.</summary>
    private static Compression.DecompressionLimits? ReadDecompression(NodeReader r, YamlMappingNode root)
    {
        if (r.Child(root, "decompression") is not { } node)
        {
            return null;
        }

        if (node is not YamlMappingNode m)
        {
            r.Error("decompression", "a mapping: { max_bytes, max_ratio, ratio_check_after }");
            return null;
        }

        r.CheckKeys(m, "decompression", DecompressionKeys);
        var limits = Compression.DecompressionLimits.Default;
        if (r.Size(m, "decompression", "max_bytes") is { } max)
        {
            limits = limits with { MaxBytes = max };
        }

        if (r.Int(m, "decompression", "max_ratio") is { } ratio)
        {
            limits = limits with { MaxRatio = ratio };
        }

        if (r.Size(m, "decompression", "ratio_check_after") is { } after)
        {
            limits = limits with { RatioCheckAfterBytes = after };
        }

        if (limits.MaxBytes <= 0 || limits.MaxRatio <= 0 || limits.RatioCheckAfterBytes < 0)
        {
            r.Error("decompression", "max_bytes and max_ratio must be positive, ratio_check_after not negative");
        }

        return limits;
    }

    private static CsvOptions ReadCsv(NodeReader r, YamlMappingNode root)
    {
        var csv = CsvOptions.Default;
        if (r.Child(root, "csv") is not { } node)
        {
            return csv;
        }

        if (node is not YamlMappingNode m)
        {
            r.Error("csv", "a mapping");
            return csv;
        }

        r.CheckKeys(m, "csv", CsvKeys);
        if (r.Byte(m, "csv", "delimiter") is { } d)
        {
            csv = csv with { Delimiter = d };
        }

        if (r.Byte(m, "csv", "quote") is { } q)
        {
            csv = csv with { Quote = q };
        }

        if (r.Bool(m, "csv", "header") is { } h)
        {
            csv = csv with { HasHeader = h };
        }

        if (r.String(m, "csv", "encoding") is { } encodingName)
        {
            if (CsvEncodingNames.Parse(encodingName) is { } encoding)
            {
                csv = csv with { Encoding = encoding };
            }
            else
            {
                r.Error("csv.encoding", $"unknown encoding '{encodingName}' (expected {CsvEncodingNames.Accepted})");
            }
        }

        if (r.Strings(m, "csv", "null") is { } n)
        {
            csv = csv with { NullTokens = n };
        }

        if (r.Int(m, "csv", "batch_rows") is { } b)
        {
            csv = csv with { BatchRows = b };
        }

        if (r.Int(m, "csv", "max_columns") is { } columns)
        {
            csv = csv with { MaxColumns = columns };
        }

        if (r.Size(m, "csv", "max_record_bytes") is { } mx)
        {
            if (mx > int.MaxValue)
            {
                r.Error("csv.max_record_bytes", $"{mx:N0} is over the 2 GiB a record can have");
            }
            else
            {
                csv = csv with { MaxRecordBytes = (int)mx };
            }
        }

        foreach (var e in csv.Validate())
        {
            r.Error(e[..e.IndexOf(':', StringComparison.Ordinal)], e[(e.IndexOf(':', StringComparison.Ordinal) + 2)..]);
        }

        return csv;
    }

    private static ColumnSpec? ReadColumn(NodeReader r, YamlMappingNode m, string path, bool trimAll)
    {
        r.CheckKeys(m, path, ColumnKeys);
        var name = r.RequiredString(m, path, "name");
        var typeText = r.RequiredString(m, path, "type");
        ColumnType? type = null;
        if (typeText is not null)
        {
            type = ColumnType.TryParse(typeText, out var error);
            if (type is null)
            {
                r.Error($"{path}.type", error!);
            }
        }

        var computed = ReadComputed(r, m, path);
        var format = r.String(m, path, "format");
        if (type is { } t && format is not null)
        {
            if (t.Kind is not (ColumnKind.Date or ColumnKind.Timestamp))
            {
                r.Error($"{path}.format", $"only date and timestamp columns take a format, this one is {t}");
            }
            else if (DateTimePattern.TryCompile(format, out var patternError) is null)
            {
                r.Error($"{path}.format", patternError!);
            }
        }

        var trueTokens = r.Strings(m, path, "true");
        var falseTokens = r.Strings(m, path, "false");
        if (type is { } bt && (trueTokens ?? falseTokens) is not null && bt.Kind != ColumnKind.Bool)
        {
            r.Error($"{path}.true", $"only bool columns take true/false tokens, this one is {bt}");
        }

        if (computed is not null && type is { } ct)
        {
            var fits = computed switch
            {
                LoadDateSpec => ct.Kind is ColumnKind.Date or ColumnKind.String,
                _ => ct.Kind == ColumnKind.String,
            };
            if (!fits)
            {
                r.Error($"{path}.computed", $"a {DescribeComputed(computed)} column must be of type string/varchar{(computed is LoadDateSpec ? " or date" : "")}, not {ct}");
            }
        }

        if (name is null || type is null)
        {
            return null;
        }

        return new ColumnSpec
        {
            Name = name,
            Type = type.Value,
            Nullable = r.Bool(m, path, "nullable") ?? true,
            Source = r.String(m, path, "source"),
            Trim = r.Bool(m, path, "trim") ?? (trimAll && type.Value.Kind == ColumnKind.String),
            Format = format,
            TrueTokens = trueTokens,
            FalseTokens = falseTokens,
            NullTokens = r.Strings(m, path, "null") ?? [],
            Computed = computed,
            Rules = ReadRules(r, m, path, type.Value, format),
            Overflow = ReadOverflow(r, m, path, type.Value),
        };
    }

    private static ColumnRules ReadRules(NodeReader r, YamlMappingNode column, string columnPath, ColumnType type, string? format)
    {
        var path = $"{columnPath}.rules";
        if (r.Child(column, "rules") is not { } node)
        {
            return ColumnRules.None;
        }

        if (node is not YamlMappingNode m)
        {
            r.Error(path, "a mapping of rules: accepted_values, range, regex, max_length, unique");
            return ColumnRules.None;
        }

        r.CheckKeys(m, path, RuleKeys);
        string? min = null, max = null;
        if (r.Child(m, "range") is YamlMappingNode range)
        {
            r.CheckKeys(range, $"{path}.range", ["min", "max"]);
            min = r.String(range, $"{path}.range", "min");
            max = r.String(range, $"{path}.range", "max");
            var probe = new ColumnSpec { Name = "range", Type = type, Format = format };
            foreach (var bound in new[] { min, max }.OfType<string>())
            {
                if (type.Kind is ColumnKind.String or ColumnKind.Bool)
                {
                    r.Error($"{path}.range", $"range needs a number, date or timestamp column, this one is {type}");
                    break;
                }

                if (!ValueParsers.CanParse(probe, bound, out var why))
                {
                    r.Error($"{path}.range", $"'{bound}' is not a {type} bound: {why}");
                }
            }
        }

        var regex = r.String(m, path, "regex");
        if (regex is not null)
        {
            try
            {
                _ = Transforms.ColumnRuleCheck.CreateRegex(regex);
            }
            catch (ArgumentException e)
            {
                r.Error($"{path}.regex", $"invalid regular expression: {e.Message}");
            }
        }

        return new ColumnRules
        {
            AcceptedValues = r.Strings(m, path, "accepted_values"),
            RangeMin = min,
            RangeMax = max,
            Regex = regex,
            MaxLength = r.Int(m, path, "max_length"),
            Unique = r.Bool(m, path, "unique") ?? false,
        };
    }

    private static Overflow ReadOverflow(NodeReader r, YamlMappingNode column, string path, ColumnType type)
    {
        var text = r.String(column, path, "overflow");
        switch (text)
        {
            case null or "reject":
                return Overflow.Reject;
            case "truncate" when type.MaxLength is not null:
                return Overflow.Truncate;
            case "widen" when type.MaxLength is not null:
                return Overflow.Widen;
            case "truncate" or "widen":
                r.Error($"{path}.overflow", $"only varchar(n) columns can {(text == "widen" ? "be widened" : "be truncated")}");
                return Overflow.Reject;
            default:
                r.Error($"{path}.overflow", $"unknown policy '{text}' (expected reject, truncate or widen)");
                return Overflow.Reject;
        }
    }

    private static string DescribeComputed(ComputedSpec c) => c switch
    {
        ConcatSpec => "concat",
        SourceFileSpec => "source_file",
        LoadDateSpec => "load_date",
        TenantSpec => "tenant",
        _ => "constant",
    };

    internal static ComputedSpec? ReadComputed(NodeReader r, YamlMappingNode column, string columnPath)
    {
        var path = $"{columnPath}.computed";
        switch (r.Child(column, "computed"))
        {
            case null:
                return null;
            case YamlScalarNode { Value: "source_file" }:
                return new SourceFileSpec();
            case YamlScalarNode { Value: "load_date" }:
                return new LoadDateSpec();
            case YamlScalarNode { Value: "tenant" }:
                return new TenantSpec();
            case YamlMappingNode m:
                r.CheckKeys(m, path, ComputedKeys);
                if (r.Child(m, "constant") is YamlScalarNode constant)
                {
                    return new ConstantSpec(constant.Value ?? "");
                }

                if (r.Child(m, "concat") is YamlSequenceNode parts)
                {
                    var list = new List<ConcatPart>();
                    for (var i = 0; i < parts.Children.Count; i++)
                    {
                        switch (parts.Children[i])
                        {
                            case YamlScalarNode s when !string.IsNullOrEmpty(s.Value):
                                list.Add(new ConcatPart(s.Value, null));
                                break;
                            case YamlMappingNode lit when r.Child(lit, "literal") is YamlScalarNode l && lit.Children.Count == 1:
                                list.Add(new ConcatPart(null, l.Value ?? ""));
                                break;
                            default:
                                r.Error($"{path}.concat[{i}]", "a column name or { literal: \"text\" }");
                                break;
                        }
                    }

                    return new ConcatSpec(list, r.String(m, path, "separator") ?? "");
                }

                r.Error(path, "expected concat, constant, source_file or load_date");
                return null;
            default:
                r.Error(path, "expected source_file, load_date, tenant, { constant: ... } or { concat: [...], separator: ... }");
                return null;
        }
    }

    private static FilterSpec? ReadFilter(NodeReader r, YamlNode node, string path)
    {
        if (node is not YamlMappingNode m)
        {
            r.Error(path, "a filter is a mapping: { column: qty, op: \"!=\", value: 0 }");
            return null;
        }

        r.CheckKeys(m, path, FilterKeys);
        var column = r.RequiredString(m, path, "column");
        if (column is null)
        {
            return null;
        }

        if (r.Bool(m, path, "not_null") == true)
        {
            return new FilterSpec(column, FilterOp.NotNull, []);
        }

        if (r.Strings(m, path, "in") is { } values)
        {
            return new FilterSpec(column, FilterOp.In, values);
        }

        var opText = r.RequiredString(m, path, "op");
        var value = r.RequiredString(m, path, "value");
        FilterOp? op = opText switch
        {
            "=" or "==" => FilterOp.Equal,
            "!=" or "<>" => FilterOp.NotEqual,
            "<" => FilterOp.Less,
            "<=" => FilterOp.LessOrEqual,
            ">" => FilterOp.Greater,
            ">=" => FilterOp.GreaterOrEqual,
            null => null,
            _ => null,
        };
        if (op is null && opText is not null)
        {
            r.Error($"{path}.op", $"unknown operator '{opText}' (expected =, !=, <>, <, <=, >, >=; or use 'in' / 'not_null')");
        }

        return op is null || value is null ? null : new FilterSpec(column, op.Value, [value]);
    }

    internal static void CheckReferences(NodeReader r, List<ColumnSpec> columns, List<string> columnPaths, List<FilterSpec> filters)
    {
        var byName = new Dictionary<string, ColumnSpec>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < columns.Count; i++)
        {
            if (!byName.TryAdd(columns[i].Name, columns[i]))
            {
                r.Error($"{columnPaths[i]}.name", $"duplicate column '{columns[i].Name}'");
            }
        }

        for (var i = 0; i < columns.Count; i++)
        {
            if (columns[i].Computed is not ConcatSpec concat)
            {
                continue;
            }

            for (var p = 0; p < concat.Parts.Count; p++)
            {
                if (concat.Parts[p].Column is { } col && (!byName.TryGetValue(col, out var target) || target.Computed is not null))
                {
                    r.Error($"{columnPaths[i]}.computed.concat[{p}]", $"'{col}' is not a column read from the source");
                }
            }
        }

        for (var i = 0; i < filters.Count; i++)
        {
            if (!byName.TryGetValue(filters[i].Column, out var target))
            {
                r.Error($"filter[{i}].column", $"unknown column '{filters[i].Column}'");
                continue;
            }

            if (target.Computed is not null)
            {
                r.Error($"filter[{i}].column", $"'{filters[i].Column}' is computed; filters apply to columns read from the source");
                continue;
            }

            foreach (var v in filters[i].Values)
            {
                if (filters[i].Op != FilterOp.NotNull && !ValueParsers.CanParse(target, v, out var why))
                {
                    r.Error($"filter[{i}].value", $"'{v}' is not a valid {target.Type} value: {why}");
                }
            }
        }
    }
}
