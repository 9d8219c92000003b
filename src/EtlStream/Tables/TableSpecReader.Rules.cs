using EtlStream.Formats.Csv;
using EtlStream.Transforms;
using YamlDotNet.RepresentationModel;

namespace EtlStream.Tables;

public static partial class TableSpecReader
{
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
}
