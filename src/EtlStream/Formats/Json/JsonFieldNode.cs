using System.Text;

namespace EtlStream.Formats.Json;

/// <summary>
/// One node of the tree of paths a JSON reader extracts: the root is the record, children are object keys or array
/// indexes. A node with a slot is a column (its value, or its whole object or array as JSON text); a node without
/// one only leads to deeper columns. Built once per file; lookups compare UTF-8 bytes and allocate nothing.
/// </summary>
internal sealed class JsonFieldNode
{
    private JsonFieldNode[] _keys = [];
    private JsonFieldNode?[] _items = [];

    // Records of one file mostly list their keys in one order: the key after the last one found is tried first.
    private int _hint;

    private JsonFieldNode(byte[] name, string? flatName, JsonFieldNode? parent, bool inArray)
    {
        Name = name;
        FlatName = flatName;
        Parent = parent;
        InArray = inArray;
    }

    public static JsonFieldNode Root() => new([], null, null, false);

    /// <summary>The key, as UTF-8 (empty for the root and array elements).</summary>
    public byte[] Name { get; }

    /// <summary>The flattened name of the key path leading here (<c>dealer__code</c>); null under an array element.</summary>
    public string? FlatName { get; }

    public JsonFieldNode? Parent { get; }

    /// <summary>Under an array element: its keys are no columns of their own (arrays are kept whole), so never new keys.</summary>
    public bool InArray { get; }

    /// <summary>The column this path is read into, or -1.</summary>
    public int Slot { get; set; } = -1;

    /// <summary>The column whose flattened name (<c>dealer__code</c>) leads here, or -1: read unless <see cref="Slot"/>'s own key is present.</summary>
    public int AliasSlot { get; set; } = -1;

    /// <summary>A key reported as not read by any column: skipped from now on, and not reported again.</summary>
    public bool Ignored { get; set; }

    /// <summary>The line the key was first seen on (keys added while sampling).</summary>
    public long FirstLine { get; set; }

    public bool HasChildren => _keys.Length > 0 || _items.Length > 0;

    public bool IsColumn => Slot >= 0 || AliasSlot >= 0;

    /// <summary>The key path as written in a spec (<c>dealer.code</c>), for messages.</summary>
    public string DisplayPath
    {
        get
        {
            var parts = new List<string>();
            for (var n = this; n?.Parent is not null; n = n.Parent)
            {
                var key = Encoding.UTF8.GetString(n.Name);
                parts.Add(key.AsSpan().IndexOfAny('.', '[') >= 0 ? $"['{key.Replace("'", "''", StringComparison.Ordinal)}']" : key);
            }

            parts.Reverse();
            return string.Join('.', parts);
        }
    }

    public JsonFieldNode? Key(ReadOnlySpan<byte> name)
    {
        var keys = _keys;
        var hint = _hint;
        if (hint < keys.Length && name.SequenceEqual(keys[hint].Name))
        {
            _hint = hint + 1;
            return keys[hint];
        }

        for (var i = 0; i < keys.Length; i++)
        {
            if (name.SequenceEqual(keys[i].Name))
            {
                _hint = i + 1;
                return keys[i];
            }
        }

        return null;
    }

    public JsonFieldNode? Item(int index) => index < _items.Length ? _items[index] : null;

    public JsonFieldNode AddKey(string key) => AddKey(Encoding.UTF8.GetBytes(key));

    public JsonFieldNode AddKey(byte[] key)
    {
        foreach (var k in _keys)
        {
            if (k.Name.AsSpan().SequenceEqual(key))
            {
                return k;
            }
        }

        var flat = InArray || FlatName is null && Parent is not null ? null
            : FlatName is null ? Encoding.UTF8.GetString(key)
            : FlatName + JsonPath.FlattenSeparator + Encoding.UTF8.GetString(key);
        var node = new JsonFieldNode(key, flat, this, InArray);
        _keys = [.. _keys, node];
        return node;
    }

    public JsonFieldNode AddItem(int index)
    {
        if (index >= _items.Length)
        {
            Array.Resize(ref _items, index + 1);
        }

        return _items[index] ??= new JsonFieldNode([], null, this, inArray: true);
    }

    /// <summary>Adds the nodes of <paramref name="steps"/> below this one; returns the last.</summary>
    public JsonFieldNode Add(IReadOnlyList<JsonPathStep> steps)
    {
        var node = this;
        foreach (var step in steps)
        {
            node = step.Key is { } key ? node.AddKey(key) : node.AddItem(step.Index);
        }

        return node;
    }
}
