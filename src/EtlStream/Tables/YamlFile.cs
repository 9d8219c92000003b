using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace EtlStream.Tables;

/// <summary>
/// Loads a spec or config YAML document with bounds a hostile file cannot get past. YamlDotNet builds the node
/// graph recursively (100,000 nested brackets overflow the stack and kill the process) and hashes a mapping key
/// through every node under it, aliases included (a "billion laughs" used as a key never finishes). The bounds are
/// checked on the parser's events, before any node is built.
/// </summary>
internal static class YamlFile
{
    /// <summary>Far more than any spec or tenant needs (they nest 4-5 levels), far less than the stack allows.</summary>
    public const int MaxDepth = 64;

    /// <summary>Nodes the document would have with every alias written out; specs and tenants have hundreds.</summary>
    public const int MaxExpandedNodes = 100_000;

    /// <summary>
    /// The first document's root node, null when there is none. A syntax error or a broken bound is added to
    /// <paramref name="errors"/> as <c>file:line:column: reason</c>, with <paramref name="failed"/> set.
    /// </summary>
    public static YamlNode? LoadRoot(string text, string file, List<string> errors, out bool failed)
    {
        failed = false;
        var stream = new YamlStream();
        var parser = new BoundedParser(new Parser(new StringReader(text)));
        try
        {
            stream.Load(parser);
        }
        catch (YamlLimitException e)
        {
            errors.Add($"{file}:{e.Start.Line}:{e.Start.Column}: {e.Message}");
            failed = true;
            return null;
        }
        catch (YamlException e)
        {
            errors.Add($"{file}:{e.Start.Line}:{e.Start.Column}: invalid YAML: {e.Message}");
            failed = true;
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet's scanner and loader fail this way on some malformed input (a broken flow collection, an
            // invalid global tag; found by the yaml fuzz target): the input is not YAML, said where the parser stood.
            errors.Add($"{file}:{parser.Last.Line}:{parser.Last.Column}: invalid YAML: the parser could not read on after this point");
            failed = true;
            return null;
        }

        return stream.Documents.Count > 0 ? stream.Documents[0].RootNode : null;
    }

    private sealed class YamlLimitException(Mark start, Mark end, string message) : YamlException(start, end, message);

    /// <summary>
    /// Passes the events through, counting nesting depth and, for each anchor, the nodes and levels it stands for, so
    /// an alias counts as what it would be written out: depth and size hold for the graph YamlDotNet builds.
    /// </summary>
    private sealed class BoundedParser(IParser inner) : IParser
    {
        private readonly Dictionary<string, (long Nodes, int Levels)> _anchors = new(StringComparer.Ordinal);
        private readonly List<(string? Anchor, long FirstNode, int Levels)> _open = [];
        private readonly HashSet<string> _defined = new(StringComparer.Ordinal);
        private long _nodes;

        public ParsingEvent? Current => inner.Current;

        /// <summary>Where the last event read ended: the place to name when the parser itself fails.</summary>
        public Mark Last { get; private set; } = Mark.Empty;

        public bool MoveNext()
        {
            if (!inner.MoveNext())
            {
                return false;
            }

            Last = inner.Current!.End;

            switch (inner.Current)
            {
                case NodeEvent node and (MappingStart or SequenceStart):
                    Add(1, 1, node);
                    Define(node);
                    _open.Add((Anchor(node), _nodes - 1, 1));
                    break;
                case MappingEnd or SequenceEnd:
                    var (anchor, first, levels) = _open[^1];
                    _open.RemoveAt(_open.Count - 1);
                    if (anchor is not null)
                    {
                        _anchors[anchor] = (_nodes - first, levels);
                    }

                    if (_open.Count > 0 && _open[^1].Levels < levels + 1)
                    {
                        _open[^1] = _open[^1] with { Levels = levels + 1 };
                    }

                    break;
                case Scalar scalar:
                    Add(1, 0, scalar);
                    Define(scalar);
                    if (Anchor(scalar) is { } a)
                    {
                        _anchors[a] = (1, 0);
                    }

                    break;
                case AnchorAlias alias:
                    // An alias inside the node its anchor names would make the graph a cycle, which every reader of
                    // it (placeholder checks, key hashing) would follow until the stack overflows.
                    if (_open.Exists(o => o.Anchor == alias.Value.Value))
                    {
                        throw new YamlLimitException(alias.Start, alias.End, $"alias *{alias.Value.Value} is inside the node its anchor names (a cycle)");
                    }

                    // YAML names an anchor before its aliases; YamlDotNet also resolves an alias to a later anchor,
                    // which lets two nodes hold each other (b: &b [*c], c: &c [*b]): refused as YAML would.
                    if (!_anchors.TryGetValue(alias.Value.Value, out var known))
                    {
                        throw new YamlLimitException(alias.Start, alias.End, $"alias *{alias.Value.Value} comes before any anchor &{alias.Value.Value}");
                    }

                    var (nodes, aliasLevels) = known;
                    Add(nodes, aliasLevels, alias);
                    if (_open.Count > 0 && _open[^1].Levels < aliasLevels + 1)
                    {
                        _open[^1] = _open[^1] with { Levels = aliasLevels + 1 };
                    }

                    break;
            }

            return true;
        }

        private static string? Anchor(NodeEvent node) => node.Anchor.IsEmpty ? null : node.Anchor.Value;

        /// <summary>
        /// Refuses an anchor name used twice: YAML lets a later one hide the earlier, but YamlDotNet resolves aliases
        /// after the whole document is read, so an alias could name a node other than the one before it, even its
        /// own container. Specs and tenants never need two anchors of one name.
        /// </summary>
        private void Define(NodeEvent node)
        {
            if (Anchor(node) is { } anchor && (!_defined.Add(anchor)))
            {
                throw new YamlLimitException(node.Start, node.End, $"anchor &{anchor} is defined twice (give each anchor its own name)");
            }
        }

        /// <param name="levels">The levels of collections the node brings, itself included (0 for a scalar).</param>
        private void Add(long nodes, int levels, ParsingEvent at)
        {
            if (_open.Count + levels > MaxDepth)
            {
                throw new YamlLimitException(at.Start, at.End, string.Create(CultureInfo.InvariantCulture, $"nesting deeper than {MaxDepth} levels"));
            }

            _nodes += nodes;
            if (_nodes > MaxExpandedNodes)
            {
                throw new YamlLimitException(at.Start, at.End, string.Create(CultureInfo.InvariantCulture, $"more than {MaxExpandedNodes:N0} nodes, aliases written out"));
            }
        }
    }
}
