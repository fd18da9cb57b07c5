package io.dma4j.provider.iommu;

import java.util.Map;
import java.util.TreeMap;

/**
 * The IOVA allocator's tree of ranges, as {@code drivers/iommu/iova.c} (v6.7+) keeps it: a
 * red-black tree of {@code [lo, hi]} pfn ranges ordered by {@code lo}, with an anchor node
 * above all usable space, and two remembered search positions ({@code cached_node} for
 * limits above 4 GiB, {@code cached32_node} for limits at or below it).
 *
 * <p>Nodes are intrusive: each holds its range in primitive fields, its tree links, and
 * links to its in-order neighbours, so the allocation walk steps to the predecessor
 * ({@code rb_prev}) in one load and an insert needs no descent (the walk ends between the
 * two neighbours the new range goes between). Nodes come from a pool and go back to it on
 * free, so after warm-up nothing is allocated; the pool keeps as many nodes as the tree
 * held at its fullest.
 *
 * <p>Semantics kept from the kernel, function by function:
 * <ul>
 *   <li>{@link #alloc}: {@code __alloc_and_insert_iova_range}: refuse at once when the limit is
 *       at or below 4 GiB and the size is at least {@code max32_alloc_size}; walk down from the
 *       cached node for the limit; on a miss, retry once from {@code iova_find_limit()} with the
 *       lower bound raised above the cached node's range; on failure set
 *       {@code max32_alloc_size} to the size (whatever the limit); on success move the cached
 *       node chosen by the new range's {@code pfn_hi} ({@code __cached_rbnode_insert_update}).</li>
 *   <li>{@link #free}: {@code private_find_iova} (the range containing the pfn) and
 *       {@code remove_iova}, whose {@code __cached_rbnode_delete_update} moves a cached node to
 *       the freed range's successor and resets {@code max32_alloc_size} when the freed range
 *       starts below 4 GiB.</li>
 *   <li>{@link #reserve}: {@code reserve_iova}, merging with ranges it overlaps.</li>
 * </ul>
 *
 * <p>Thread safety: none; the allocator calls it under its tree lock.
 */
final class IovaTree {
    /** The anchor's pfn: above every usable pfn ({@code IOVA_ANCHOR}, ~0UL in the kernel). */
    static final long ANCHOR = Long.MAX_VALUE;

    static final class Node {
        long lo;
        long hi;
        boolean red;
        boolean reserved;
        Node left;
        Node right;
        Node parent;
        /** In-order neighbours ({@code rb_prev}, {@code rb_next}); the anchor has no next. */
        Node prev;
        Node next;
    }

    private final long dma32Pfn;
    private final Node anchor = new Node();
    private Node root;
    private Node cachedNode;
    private Node cached32Node;
    private long max32AllocSize;
    /** Pooled nodes, linked through {@link Node#next}. */
    private Node pool;
    private int pooled;
    private int nodes;

    IovaTree(long dma32Pfn) {
        this.dma32Pfn = dma32Pfn;
        anchor.lo = anchor.hi = ANCHOR;
        root = anchor;
        cachedNode = cached32Node = anchor;
        max32AllocSize = dma32Pfn;
    }

    // ---------------------------------------------------------------- allocation

    /**
     * Allocates {@code size} pfns below {@code limit} (exclusive, as the kernel's internal
     * {@code limit_pfn}), aligned to the size rounded up to a power of two, not below
     * {@code startPfn}.
     *
     * @return the first pfn, or 0 when nothing fits
     */
    long alloc(long size, long limit, long startPfn) {
        long alignMask = ~0L << (64 - Long.numberOfLeadingZeros(size - 1)); // fls_long(size - 1)
        if (limit <= dma32Pfn && size >= max32AllocSize) {
            return 0;
        }
        Node curr = limit <= dma32Pfn ? cached32Node : cachedNode;
        long retryPfn = curr.hi;
        long high = limit;
        long low = startPfn;
        long pfn;
        Node above;
        while (true) {
            do {
                high = Math.min(high, curr.lo);
                pfn = (high - size) & alignMask;
                above = curr;
                curr = curr.prev;
            } while (curr != null && pfn <= curr.hi && pfn >= low);
            if (high >= size && pfn >= low) {
                break;
            }
            if (low == startPfn && retryPfn < limit) {
                high = limit;
                low = retryPfn + 1;
                curr = findLimit(limit);
                continue;
            }
            max32AllocSize = size;
            return 0;
        }
        Node n = take(pfn, pfn + size - 1);
        insertBetween(curr, above, n);
        if (n.hi < dma32Pfn) {
            cached32Node = n;
        } else {
            cachedNode = n;
        }
        return pfn;
    }

    /**
     * {@code iova_find_limit}: where the retry's walk starts. Above 4 GiB the anchor; else the
     * kernel's descent to the lowest node at or above the limit.
     */
    private Node findLimit(long limit) {
        if (limit > dma32Pfn) {
            return anchor;
        }
        Node node = root;
        while (node.hi < limit) {
            node = node.right;
        }
        while (true) {
            while (node.left != null && node.left.lo >= limit) {
                node = node.left;
            }
            if (node.left == null) {
                return node;
            }
            Node next = node.left;
            boolean moved = false;
            while (next.right != null) {
                next = next.right;
                if (next.lo >= limit) {
                    node = next;
                    moved = true;
                    break;
                }
            }
            if (!moved) {
                return node;
            }
        }
    }

    // ---------------------------------------------------------------- free

    /**
     * Frees the allocated range containing {@code pfn}.
     *
     * @return the number of pfns freed, 0 when no allocated range holds {@code pfn} (a
     *         reserved range is never freed)
     */
    long free(long pfn) {
        Node n = find(pfn);
        if (n == null || n.reserved || n == anchor) {
            return 0;
        }
        // __cached_rbnode_delete_update
        Node next = n.next;
        if (n == cached32Node || (n.hi < dma32Pfn && n.lo >= cached32Node.lo)) {
            cached32Node = next;
        }
        if (n.lo < dma32Pfn) {
            max32AllocSize = dma32Pfn;
        }
        if (n.lo >= cachedNode.lo) {
            cachedNode = next;
        }
        long freed = n.hi - n.lo + 1;
        erase(n);
        give(n);
        return freed;
    }

    /** {@code private_find_iova}: the node whose range holds {@code pfn}, or null. */
    private Node find(long pfn) {
        Node n = root;
        while (n != null) {
            if (pfn < n.lo) {
                n = n.left;
            } else if (pfn > n.hi) {
                n = n.right;
            } else {
                return n;
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- reserve

    /** {@code reserve_iova}: extends overlapping reserved ranges and inserts what is left. */
    void reserve(long lo, long hi) {
        Node n = anchor;
        while (n.prev != null) {
            n = n.prev;
        }
        boolean overlap = false;
        for (; n != anchor; n = n.next) {
            if (n.lo <= hi && lo <= n.hi) {
                if (!n.reserved) {
                    throw new IllegalStateException(String.format("reserved range [0x%x, 0x%x] overlaps the allocated range [0x%x, 0x%x]", lo, hi, n.lo, n.hi));
                }
                // __adjust_overlap_range: the node grows down to lo; what lies above it is still to insert
                if (lo < n.lo && (n.prev == null || n.prev.hi < lo)) {
                    n.lo = lo;
                }
                if (hi > n.hi) {
                    lo = n.hi + 1;
                } else {
                    return;
                }
                overlap = true;
            } else if (overlap) {
                break;
            }
        }
        Node above = anchor;
        while (above.prev != null && above.prev.lo > lo) {
            above = above.prev;
        }
        Node r = take(lo, Math.min(hi, above.lo - 1));
        r.reserved = true;
        insertBetween(above.prev, above, r);
        if (r.hi < hi) {
            reserve(r.hi + 1, hi); // the part beyond the next range
        }
    }

    // ---------------------------------------------------------------- views

    /** Allocated ({@code reserved == false}) or reserved ranges as first pfn to last pfn. */
    Map<Long, Long> ranges(boolean reserved) {
        TreeMap<Long, Long> out = new TreeMap<>();
        for (Node n = anchor.prev; n != null; n = n.prev) {
            if (n.reserved == reserved) {
                out.put(n.lo, n.hi);
            }
        }
        return out;
    }

    long max32AllocSize() {
        return max32AllocSize;
    }

    /** Nodes in the tree, the anchor included. */
    int size() {
        return nodes + 1;
    }

    /** Nodes kept in the pool for reuse. */
    int pooled() {
        return pooled;
    }

    /** Checks order, disjointness, the red-black rules and every link. */
    void check(long startPfn) {
        if (root == null || root.parent != null || root.red) {
            throw new IllegalStateException("IOVA tree: the root is missing, has a parent or is red");
        }
        int[] count = {0};
        blackHeight(root, count);
        if (count[0] != nodes + 1) {
            throw new IllegalStateException("IOVA tree: " + count[0] + " nodes reachable, " + (nodes + 1) + " counted");
        }
        Node prev = null;
        int walked = 0;
        for (Node n = leftmost(); n != null; n = n.next) {
            if (n.prev != prev) {
                throw new IllegalStateException(String.format("IOVA tree: broken neighbour link at [0x%x, 0x%x]", n.lo, n.hi));
            }
            if (n != anchor && (n.lo > n.hi || (!n.reserved && n.lo < startPfn))) {
                throw new IllegalStateException(String.format("IOVA tree: bad range [0x%x, 0x%x]", n.lo, n.hi));
            }
            if (prev != null && prev.hi >= n.lo) {
                throw new IllegalStateException(String.format("IOVA tree broken at [0x%x, 0x%x] (previous ends at 0x%x)", n.lo, n.hi, prev.hi));
            }
            prev = n;
            walked++;
        }
        if (prev != anchor || walked != nodes + 1) {
            throw new IllegalStateException("IOVA tree: the neighbour list does not end at the anchor or misses nodes");
        }
    }

    private Node leftmost() {
        Node n = root;
        while (n.left != null) {
            n = n.left;
        }
        return n;
    }

    private static int blackHeight(Node n, int[] count) {
        if (n == null) {
            return 1;
        }
        count[0]++;
        if (n.left != null && (n.left.parent != n || n.left.lo >= n.lo)
                || n.right != null && (n.right.parent != n || n.right.lo <= n.lo)) {
            throw new IllegalStateException(String.format("IOVA tree: bad child link below [0x%x, 0x%x]", n.lo, n.hi));
        }
        if (n.red && (isRed(n.left) || isRed(n.right))) {
            throw new IllegalStateException(String.format("IOVA tree: red node [0x%x, 0x%x] has a red child", n.lo, n.hi));
        }
        int l = blackHeight(n.left, count);
        int r = blackHeight(n.right, count);
        if (l != r) {
            throw new IllegalStateException(String.format("IOVA tree: black heights differ below [0x%x, 0x%x]", n.lo, n.hi));
        }
        return l + (n.red ? 0 : 1);
    }

    // ---------------------------------------------------------------- node pool

    private Node take(long lo, long hi) {
        Node n = pool;
        if (n != null) {
            pool = n.next;
            pooled--;
        } else {
            n = new Node();
        }
        n.lo = lo;
        n.hi = hi;
        n.reserved = false;
        n.left = n.right = n.parent = n.prev = n.next = null;
        nodes++;
        return n;
    }

    private void give(Node n) {
        n.left = n.right = n.parent = n.prev = null;
        n.next = pool;
        pool = n;
        pooled++;
        nodes--;
    }

    // ---------------------------------------------------------------- red-black tree

    private static boolean isRed(Node n) {
        return n != null && n.red;
    }

    /**
     * Links {@code n} between its in-order neighbours {@code below} (may be null) and
     * {@code above}: as {@code above}'s left child when it has none, else as the right child
     * of {@code below}, which is then the rightmost node of {@code above}'s left subtree.
     */
    private void insertBetween(Node below, Node above, Node n) {
        if (above.left == null) {
            above.left = n;
            n.parent = above;
        } else {
            below.right = n;
            n.parent = below;
        }
        n.prev = below;
        n.next = above;
        above.prev = n;
        if (below != null) {
            below.next = n;
        }
        n.red = true;
        insertFixup(n);
    }

    private void insertFixup(Node z) {
        while (isRed(z.parent)) {
            Node p = z.parent;
            Node g = p.parent;
            if (p == g.left) {
                Node u = g.right;
                if (isRed(u)) {
                    p.red = false;
                    u.red = false;
                    g.red = true;
                    z = g;
                } else {
                    if (z == p.right) {
                        rotateLeft(p);
                        z = p;
                        p = z.parent;
                    }
                    p.red = false;
                    g.red = true;
                    rotateRight(g);
                }
            } else {
                Node u = g.left;
                if (isRed(u)) {
                    p.red = false;
                    u.red = false;
                    g.red = true;
                    z = g;
                } else {
                    if (z == p.left) {
                        rotateRight(p);
                        z = p;
                        p = z.parent;
                    }
                    p.red = false;
                    g.red = true;
                    rotateLeft(g);
                }
            }
        }
        root.red = false;
    }

    /** Unlinks {@code z} from the tree and the neighbour list, moving nodes (never ranges). */
    private void erase(Node z) {
        Node x;
        Node xParent;
        boolean removedRed;
        if (z.left == null) {
            x = z.right;
            xParent = z.parent;
            removedRed = z.red;
            transplant(z, z.right);
        } else if (z.right == null) {
            x = z.left;
            xParent = z.parent;
            removedRed = z.red;
            transplant(z, z.left);
        } else {
            Node y = z.next; // the leftmost node of the right subtree
            removedRed = y.red;
            x = y.right;
            if (y.parent == z) {
                xParent = y;
            } else {
                xParent = y.parent;
                transplant(y, y.right);
                y.right = z.right;
                y.right.parent = y;
            }
            transplant(z, y);
            y.left = z.left;
            y.left.parent = y;
            y.red = z.red;
        }
        if (!removedRed) {
            eraseFixup(x, xParent);
        }
        if (z.prev != null) {
            z.prev.next = z.next;
        }
        z.next.prev = z.prev; // z is never the anchor, so it has a next
    }

    private void eraseFixup(Node x, Node parent) {
        while (x != root && !isRed(x)) {
            if (x == parent.left) {
                Node w = parent.right;
                if (w.red) {
                    w.red = false;
                    parent.red = true;
                    rotateLeft(parent);
                    w = parent.right;
                }
                if (!isRed(w.left) && !isRed(w.right)) {
                    w.red = true;
                    x = parent;
                    parent = x.parent;
                } else {
                    if (!isRed(w.right)) {
                        w.left.red = false;
                        w.red = true;
                        rotateRight(w);
                        w = parent.right;
                    }
                    w.red = parent.red;
                    parent.red = false;
                    w.right.red = false;
                    rotateLeft(parent);
                    x = root;
                    parent = null;
                }
            } else {
                Node w = parent.left;
                if (w.red) {
                    w.red = false;
                    parent.red = true;
                    rotateRight(parent);
                    w = parent.left;
                }
                if (!isRed(w.left) && !isRed(w.right)) {
                    w.red = true;
                    x = parent;
                    parent = x.parent;
                } else {
                    if (!isRed(w.left)) {
                        w.right.red = false;
                        w.red = true;
                        rotateLeft(w);
                        w = parent.left;
                    }
                    w.red = parent.red;
                    parent.red = false;
                    w.left.red = false;
                    rotateRight(parent);
                    x = root;
                    parent = null;
                }
            }
        }
        if (x != null) {
            x.red = false;
        }
    }

    private void transplant(Node u, Node v) {
        if (u.parent == null) {
            root = v;
        } else if (u == u.parent.left) {
            u.parent.left = v;
        } else {
            u.parent.right = v;
        }
        if (v != null) {
            v.parent = u.parent;
        }
    }

    private void rotateLeft(Node x) {
        Node y = x.right;
        x.right = y.left;
        if (y.left != null) {
            y.left.parent = x;
        }
        y.parent = x.parent;
        if (x.parent == null) {
            root = y;
        } else if (x == x.parent.left) {
            x.parent.left = y;
        } else {
            x.parent.right = y;
        }
        y.left = x;
        x.parent = y;
    }

    private void rotateRight(Node x) {
        Node y = x.left;
        x.left = y.right;
        if (y.right != null) {
            y.right.parent = x;
        }
        y.parent = x.parent;
        if (x.parent == null) {
            root = y;
        } else if (x == x.parent.right) {
            x.parent.right = y;
        } else {
            x.parent.left = y;
        }
        y.right = x;
        x.parent = y;
    }
}
