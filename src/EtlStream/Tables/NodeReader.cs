using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace EtlStream.Tables;

/// <summary>Reads typed scalars from YAML nodes, recording each problem with its path.</summary>
internal sealed class NodeReader(string file, List<string> errors)
{
    public void Error(string path, string message) => errors.Add($"{file}: {path}: {message}");

    public void CheckKeys(YamlMappingNode m, string path, string[] known)
    {
        foreach (var key in m.Children.Keys)
        {
            var k = (key as YamlScalarNode)?.Value ?? "?";
            if (Array.IndexOf(known, k) < 0)
            {
                Error(Join(path, k), $"unknown key (expected one of: {string.Join(", ", known)})");
            }
        }
    }

    /// <summary>
    /// The name a mapping key gives, or null with an error at <paramref name="path"/> when the key is a list or a
    /// mapping (YAML allows <c>? [a, b]: …</c>; no spec or tenant means it).
    /// </summary>
    public string? KeyName(YamlNode key, string path)
    {
        if (key is YamlScalarNode scalar)
        {
            return scalar.Value ?? "";
        }

        Error(path, $"a key must be a name, not a {(key is YamlSequenceNode ? "list" : "mapping")} (line {key.Start.Line})");
        return null;
    }

    public YamlNode? Child(YamlMappingNode m, string key) =>
        m.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

    public string? String(YamlMappingNode m, string path, string key)
    {
        switch (Child(m, key))
        {
            case null:
                return null;
            case YamlScalarNode s:
                return s.Value;
            default:
                Error(Join(path, key), "expected a single value");
                return null;
        }
    }

    public string? RequiredString(YamlMappingNode m, string path, string key)
    {
        var s = String(m, path, key);
        if (string.IsNullOrWhiteSpace(s) && Child(m, key) is null or YamlScalarNode)
        {
            Error(Join(path, key), "required");
            return null;
        }

        return s;
    }

    public bool? Bool(YamlMappingNode m, string path, string key)
    {
        var s = String(m, path, key);
        if (s is null)
        {
            return null;
        }

        if (bool.TryParse(s, out var b))
        {
            return b;
        }

        Error(Join(path, key), $"expected true or false, got '{s}'");
        return null;
    }

    public int? Int(YamlMappingNode m, string path, string key)
    {
        var s = String(m, path, key);
        if (s is null)
        {
            return null;
        }

        if (int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i))
        {
            return i;
        }

        Error(Join(path, key), $"expected a whole number, got '{s}'");
        return null;
    }

    /// <summary>A size in bytes: a whole number, optionally with a unit (KiB, MiB, GiB, TiB; KB, MB, GB, TB).</summary>
    public long? Size(YamlMappingNode m, string path, string key)
    {
        var s = String(m, path, key)?.Trim();
        if (s is null)
        {
            return null;
        }

        if (ByteSize.TryParse(s, out var n))
        {
            return n;
        }

        Error(Join(path, key), $"expected a size such as 64MiB or 1TiB, got '{s}'");
        return null;
    }

    public byte? Byte(YamlMappingNode m, string path, string key)
    {
        var s = String(m, path, key);
        if (s is null)
        {
            return null;
        }

        var b = Formats.Csv.CsvOptions.ParseCharacter(s, out var error);
        if (b is null)
        {
            Error(Join(path, key), error!);
        }

        return b;
    }

    public IReadOnlyList<string>? Strings(YamlMappingNode m, string path, string key)
    {
        switch (Child(m, key))
        {
            case null:
                return null;
            case YamlScalarNode s:
                return [s.Value ?? ""];
            case YamlSequenceNode seq:
                var list = new List<string>();
                foreach (var c in seq.Children)
                {
                    if (c is YamlScalarNode cs)
                    {
                        list.Add(cs.Value ?? "");
                    }
                    else
                    {
                        Error(Join(path, key), "expected a list of values");
                    }
                }

                return list;
            default:
                Error(Join(path, key), "expected a value or a list of values");
                return null;
        }
    }

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";
}

/// <summary>Sizes as people write them in configs and options: a whole number of bytes, optionally with a unit.</summary>
public static class ByteSize
{
    private static readonly (string Unit, long Factor)[] Units = [("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("TiB", 1L << 40), ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000)];

    /// <summary>Reads <c>256MiB</c>, <c>1 GB</c>, <c>1048576</c> (KiB, MiB, GiB, TiB; KB, MB, GB, TB; any case).</summary>
    public static bool TryParse(string text, out long bytes)
    {
        var s = text.Trim();
        var (number, factor) = (s, 1L);
        foreach (var (unit, f) in Units)
        {
            if (s.EndsWith(unit, StringComparison.OrdinalIgnoreCase))
            {
                (number, factor) = (s[..^unit.Length].TrimEnd(), f);
                break;
            }
        }

        if (long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= long.MaxValue / factor)
        {
            bytes = n * factor;
            return true;
        }

        bytes = 0;
        return false;
    }

    /// <summary>A size in MiB with one decimal (<c>12.5 MiB</c>), for messages.</summary>
    public static string Format(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:N1} MiB");
}
