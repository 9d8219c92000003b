using EtlStream.Formats.Csv;
using EtlStream.Transforms;
using YamlDotNet.RepresentationModel;

namespace EtlStream.Tables;

/// <summary>
/// Maps a table spec YAML file to a <see cref="TableSpec"/>. This is the only place YAML meets the spec:
/// unknown keys, unknown types and dangling references are all collected and reported together, each with
/// its path (<c>columns[3].type: unknown type 'intt'</c>).
/// </summary>
public static partial class TableSpecReader
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
        var inputFormat = format is null ? null : Formats.InputFormats.Find(format);
        if (format is not null && inputFormat is null)
        {
            r.Error("format", $"unknown format '{format}' (expected {Formats.InputFormats.Kinds}; without format: it is recognised from each file's content)");
        }

        var limits = ReadDecompression(r, root);
        var json = Formats.Json.JsonOptionsReader.Read(r, r.Child(root, "json"));
        return name is null ? null : new TableSpec { Name = name, Json = json, Format = inputFormat?.Kind, Columns = columns, InferColumns = infer, TrimInferred = trimAll, File = file, Filters = filters, Csv = csv, Key = key, OnError = onError ?? OnError.RejectRow, MaxRejectRatio = ratio, SchemaDrift = drift ?? SchemaDrift.IgnoreNew, Decompression = limits };
    }
}
