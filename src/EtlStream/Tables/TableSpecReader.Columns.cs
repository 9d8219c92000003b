using EtlStream.Formats.Csv;
using EtlStream.Transforms;
using YamlDotNet.RepresentationModel;

namespace EtlStream.Tables;

public static partial class TableSpecReader
{
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
}
