using EtlStream.Formats.Csv;
using EtlStream.Transforms;
using YamlDotNet.RepresentationModel;

namespace EtlStream.Tables;

public static partial class TableSpecReader
{
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
