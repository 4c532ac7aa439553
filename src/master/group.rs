//! The master's model of its listeners' order in the kernel's `SO_REUSEPORT` group.

/// The master's model of the kernel's `SO_REUSEPORT` group: our sockets' serial
/// numbers, in the group's order. It assumes the group holds only this master's
/// sockets (nobody else listens on the port).
#[derive(Debug, Default)]
pub(super) struct Group {
    members: Vec<u64>,
    next_serial: u64,
}

impl Group {
    /// Records a socket that just started listening (the kernel appends it);
    /// returns its serial number.
    pub(super) fn joined(&mut self) -> u64 {
        let serial = self.next_serial;
        self.next_serial += 1;
        self.members.push(serial);
        serial
    }

    /// Records that a socket's last descriptor was closed: the kernel moves the group's
    /// last socket into its place, which is exactly `Vec::swap_remove`.
    pub(super) fn left(&mut self, serial: u64) {
        if let Some(position) = self.members.iter().position(|&s| s == serial) {
            self.members.swap_remove(position);
        }
    }

    /// The group positions of the given sockets (unknown ones are skipped).
    pub(super) fn positions(&self, serials: &[u64]) -> Vec<u32> {
        let position = |serial| self.members.iter().position(|&s| s == serial);
        serials
            .iter()
            .filter_map(|&s| position(s))
            .map(|p| p as u32)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Closing a socket moves the last one into its place, as the kernel does.
    #[test]
    fn group_positions_follow_kernel_order() {
        let mut group = Group::default();
        let serials: Vec<u64> = (0..4).map(|_| group.joined()).collect();
        assert_eq!(group.positions(&serials), [0, 1, 2, 3]);
        group.left(serials[1]);
        assert_eq!(
            group.positions(&[serials[0], serials[2], serials[3]]),
            [0, 2, 1]
        );
        let added = group.joined();
        assert_eq!(group.positions(&[added]), [3]);
        assert_eq!(group.positions(&[serials[1]]), Vec::<u32>::new());
    }
}
